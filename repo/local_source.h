// LocalSource: the local file system as `cairn backup PATH...` reads it,
// through POSIX calls (lstat, readdir, readlink, llistxattr, open/pread).
// --exclude and --one-file-system are its options. errno becomes Status
// here, with messages naming the path.
#pragma once

#include <sys/stat.h>

#include <optional>
#include <string>
#include <vector>

#include "repo/local_fs.h"
#include "repo/source.h"

namespace cairn {

struct LocalSourceOptions {
  std::vector<std::string> excludes;  // see ExcludeMatcher
  // Below each named path, a directory on another file system (a mount
  // point) is kept with its metadata but without its entries.
  bool one_file_system = false;
};

class LocalSource final : public Source {
 public:
  explicit LocalSource(LocalSourceOptions opts = {});

  Result<EntryInfo> Stat(const std::string& path, bool follow) override;
  Result<std::vector<std::string>> List(const std::string& path, const EntryInfo& dir) override;
  Result<std::string> ReadLink(const std::string& path, const EntryInfo& info) override;
  Result<std::vector<Xattr>> ReadXattrs(const std::string& path, const EntryInfo& info) override;
  // Opens without following symlinks and without updating atime where the
  // caller may (O_NOATIME). Files with fewer blocks than their size are
  // sparse; the others are read with a sequential read-ahead hint.
  Result<std::unique_ptr<SourceFile>> Open(const std::string& path,
                                           const EntryInfo& info) override;
  std::string UserName(uint32_t uid) override { return names_.UserName(uid); }
  std::string GroupName(uint32_t gid) override { return names_.GroupName(gid); }
  bool Excluded(const std::string& path, const std::string& name) const override {
    return matcher_.Excluded(path, name);
  }
  bool SkipContents(const EntryInfo& dir, uint64_t root_device) const override {
    return one_file_system_ && dir.device != root_device;
  }

 private:
  const ExcludeMatcher matcher_;
  const bool one_file_system_;
  IdNameCache names_;
};

// The EntryInfo of a stat result; nullopt for a type a tree cannot hold.
std::optional<EntryInfo> EntryInfoFromStat(const struct stat& st);

// Whether a file changed while it was read: `before` is its state when
// opened, `after` when the read ended, bytes the content length read. Any
// difference in size, mtime or ctime (whole times, seconds included) or a
// content length other than the size counts.
bool FileChangedWhileRead(const EntryInfo& before, const EntryInfo& after, uint64_t bytes);

}  // namespace cairn
