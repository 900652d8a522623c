#include "tests/support/tree_compare.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <vector>

namespace cairn::testing {
namespace {

std::vector<std::string> ListDir(const std::string& d) {
  std::vector<std::string> out;
  // O_NOATIME: listing must not change the directory atimes being compared.
  int fd = open(d.c_str(), O_RDONLY | O_DIRECTORY | O_NOATIME);
  DIR* dir = fd >= 0 ? fdopendir(fd) : nullptr;
  if (!dir) {
    if (fd >= 0) close(fd);
    return out;
  }
  while (dirent* e = readdir(dir)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  closedir(dir);
  std::sort(out.begin(), out.end());
  return out;
}

std::map<std::string, std::string> Xattrs(const std::string& p) {
  std::map<std::string, std::string> out;
  ssize_t n = llistxattr(p.c_str(), nullptr, 0);
  if (n <= 0) return out;
  std::string names(static_cast<size_t>(n), '\0');
  n = llistxattr(p.c_str(), names.data(), names.size());
  if (n <= 0) return out;
  for (size_t pos = 0; pos < static_cast<size_t>(n);) {
    std::string name(names.c_str() + pos);
    pos += name.size() + 1;
    ssize_t v = lgetxattr(p.c_str(), name.c_str(), nullptr, 0);
    std::string value(v > 0 ? static_cast<size_t>(v) : 0, '\0');
    if (v > 0) lgetxattr(p.c_str(), name.c_str(), value.data(), value.size());
    out[name] = value;
  }
  return out;
}

// Data regions of a file as (offset, length) pairs.
std::vector<std::pair<off_t, off_t>> DataRegions(int fd, off_t size) {
  std::vector<std::pair<off_t, off_t>> out;
  off_t pos = 0;
  while (pos < size) {
    off_t data = lseek(fd, pos, SEEK_DATA);
    if (data < 0) break;
    off_t hole = lseek(fd, data, SEEK_HOLE);
    if (hole < 0) hole = size;
    out.emplace_back(data, hole - data);
    pos = hole;
  }
  return out;
}

bool SameContent(const std::string& a, const std::string& b, off_t size, bool holes,
                 std::string* why) {
  // O_NOATIME: reading must not change the atimes being compared.
  int fa = open(a.c_str(), O_RDONLY | O_NOATIME), fb = open(b.c_str(), O_RDONLY | O_NOATIME);
  if (fa < 0 || fb < 0) {
    if (fa >= 0) close(fa);
    if (fb >= 0) close(fb);
    *why = "cannot open";
    return false;
  }
  bool same = true;
  std::vector<std::pair<off_t, off_t>> ra = DataRegions(fa, size), rb = DataRegions(fb, size);
  if (holes && ra != rb) {
    same = false;
    *why = "different sparse layout";
  }
  // Compare the bytes of the union of data regions (holes read as zeros).
  std::vector<char> ba(1 << 20), bb(1 << 20);
  auto regions = ra;
  regions.insert(regions.end(), rb.begin(), rb.end());
  for (const auto& [off, len] : regions) {
    for (off_t done = 0; same && done < len;) {
      size_t n = static_cast<size_t>(std::min<off_t>(len - done, static_cast<off_t>(ba.size())));
      ssize_t x = pread(fa, ba.data(), n, off + done), y = pread(fb, bb.data(), n, off + done);
      if (x != y || x <= 0 || memcmp(ba.data(), bb.data(), static_cast<size_t>(x)) != 0) {
        same = false;
        *why = "content differs near offset " + std::to_string(off + done);
      }
      done += x > 0 ? x : len;
    }
  }
  close(fa);
  close(fb);
  return same;
}

struct Walker {
  const CompareOptions& opts;
  std::vector<std::string> diffs;
  // Hardlink structure: inode in a -> first relative path; the same for b.
  std::map<ino_t, std::string> links_a, links_b;

  void Diff(const std::string& rel, const std::string& what) {
    diffs.push_back((rel.empty() ? "/" : rel) + ": " + what);
  }

  void Compare(const std::string& a, const std::string& b, const std::string& rel) {
    struct stat sa, sb;
    if (lstat(a.c_str(), &sa) != 0) return Diff(rel, "missing in the first tree");
    if (lstat(b.c_str(), &sb) != 0) return Diff(rel, "missing in the second tree");
    if ((sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT)) return Diff(rel, "type differs");
    if ((sa.st_mode & 07777) != (sb.st_mode & 07777) && !S_ISLNK(sa.st_mode)) {
      Diff(rel, "mode " + std::to_string(sa.st_mode & 07777) + " vs " +
                    std::to_string(sb.st_mode & 07777));
    }
    if (sa.st_uid != sb.st_uid || sa.st_gid != sb.st_gid) Diff(rel, "owner differs");
    bool dir = S_ISDIR(sa.st_mode);
    if ((!dir || opts.compare_dir_times) &&
        (sa.st_mtim.tv_sec != sb.st_mtim.tv_sec || sa.st_mtim.tv_nsec != sb.st_mtim.tv_nsec)) {
      Diff(rel, "mtime differs");
    }
    if (opts.compare_atime && !S_ISLNK(sa.st_mode) && (!dir || opts.compare_dir_times) &&
        (sa.st_atim.tv_sec != sb.st_atim.tv_sec || sa.st_atim.tv_nsec != sb.st_atim.tv_nsec)) {
      Diff(rel, "atime differs");
    }
    if (Xattrs(a) != Xattrs(b)) Diff(rel, "extended attributes differ");
    if (S_ISREG(sa.st_mode)) {
      if (sa.st_size != sb.st_size) return Diff(rel, "size differs");
      std::string why;
      if (!SameContent(a, b, sa.st_size, opts.compare_holes, &why)) Diff(rel, why);
      if (sa.st_nlink != sb.st_nlink) Diff(rel, "link count differs");
      if (sa.st_nlink > 1) {
        auto ia = links_a.try_emplace(sa.st_ino, rel).first->second;
        auto ib = links_b.try_emplace(sb.st_ino, rel).first->second;
        if (ia != ib) Diff(rel, "hardlinked to " + ia + " in one tree, " + ib + " in the other");
      }
    } else if (S_ISLNK(sa.st_mode)) {
      char ta[4096], tb[4096];
      ssize_t na = readlink(a.c_str(), ta, sizeof(ta)), nb = readlink(b.c_str(), tb, sizeof(tb));
      if (na != nb || memcmp(ta, tb, static_cast<size_t>(na > 0 ? na : 0)) != 0) {
        Diff(rel, "symlink target differs");
      }
    } else if (S_ISCHR(sa.st_mode) || S_ISBLK(sa.st_mode)) {
      if (sa.st_rdev != sb.st_rdev) Diff(rel, "device number differs");
    } else if (dir) {
      auto ea = ListDir(a), eb = ListDir(b);
      if (ea != eb) {
        for (const auto& n : ea)
          if (!std::binary_search(eb.begin(), eb.end(), n)) Diff(rel + "/" + n, "missing in the second tree");
        for (const auto& n : eb)
          if (!std::binary_search(ea.begin(), ea.end(), n)) Diff(rel + "/" + n, "missing in the first tree");
      }
      for (const auto& n : ea) {
        if (std::binary_search(eb.begin(), eb.end(), n)) Compare(a + "/" + n, b + "/" + n, rel + "/" + n);
      }
    }
  }
};

}  // namespace

std::vector<std::string> CompareTrees(const std::string& a, const std::string& b,
                                      const CompareOptions& opts) {
  Walker w{opts, {}, {}, {}};
  w.Compare(a, b, "");
  return w.diffs;
}

}  // namespace cairn::testing
