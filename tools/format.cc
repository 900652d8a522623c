#include "tools/format.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>

#include "common/clock.h"

namespace cairn {

std::string FormatBytes(uint64_t n) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) {
    snprintf(buf, sizeof(buf), "%llu B", static_cast<unsigned long long>(n));
  } else {
    snprintf(buf, sizeof(buf), "%.3g %s", v, kUnits[u]);
  }
  return buf;
}

std::string Count(uint64_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

std::string FormatDuration(int64_t ns) {
  double s = static_cast<double>(ns) / 1e9;
  char buf[32];
  if (s < 60) {
    snprintf(buf, sizeof(buf), "%.2fs", s);
  } else if (s < 3600) {
    snprintf(buf, sizeof(buf), "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  } else {
    snprintf(buf, sizeof(buf), "%dh%02dm", static_cast<int>(s) / 3600,
             (static_cast<int>(s) / 60) % 60);
  }
  return buf;
}

std::string FormatMode(const Node& n) {
  std::string s(10, '-');
  switch (n.type) {
    case NodeType::kDir: s[0] = 'd'; break;
    case NodeType::kSymlink: s[0] = 'l'; break;
    case NodeType::kFifo: s[0] = 'p'; break;
    case NodeType::kSocket: s[0] = 's'; break;
    case NodeType::kCharDev: s[0] = 'c'; break;
    case NodeType::kBlockDev: s[0] = 'b'; break;
    default: break;
  }
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) {
    if (n.mode & (0400u >> i)) s[static_cast<size_t>(i + 1)] = rwx[i];
  }
  if (n.mode & S_ISUID) s[3] = (n.mode & 0100) ? 's' : 'S';
  if (n.mode & S_ISGID) s[6] = (n.mode & 0010) ? 's' : 'S';
  if (n.mode & S_ISVTX) s[9] = (n.mode & 0001) ? 't' : 'T';
  return s;
}

void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows) {
    width.resize(std::max(width.size(), r.size()));
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  for (size_t k = 0; k < rows.size(); ++k) {
    std::string line;
    for (size_t i = 0; i < rows[k].size(); ++i) {
      line += rows[k][i];
      if (i + 1 < rows[k].size()) line += std::string(width[i] - rows[k][i].size() + 2, ' ');
    }
    puts(line.c_str());
    if (k == 0) {
      size_t total = 0;
      for (size_t w : width) total += w + 2;
      puts(std::string(total > 2 ? total - 2 : 0, '-').c_str());
    }
  }
}

std::string DumpJson(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json NodeJson(const std::string& path, const Node& n) {
  nlohmann::json j = {{"path", path},
                      {"name", n.name},
                      {"type", NodeTypeName(n.type)},
                      {"mode", n.mode},
                      {"uid", n.uid},
                      {"gid", n.gid},
                      {"user", n.user},
                      {"group", n.group},
                      {"size", n.size},
                      {"mtime", FormatTime(n.mtime_ns, 9)},
                      {"ctime", FormatTime(n.ctime_ns, 9)},
                      {"atime", FormatTime(n.atime_ns, 9)},
                      {"inode", n.inode},
                      {"links", n.nlink}};
  if (n.type == NodeType::kSymlink) j["target"] = n.symlink_target;
  if (n.type == NodeType::kFile) j["sha256"] = n.sha256.Hex();
  if (n.type == NodeType::kCharDev || n.type == NodeType::kBlockDev) j["rdev"] = n.rdev;
  return j;
}

nlohmann::json SnapshotJson(const Snapshot& s) {
  nlohmann::json j = {{"id", s.id.Hex()},
                      {"short_id", s.id.Short()},
                      {"time", FormatTime(s.time_ns, 9)},
                      {"hostname", s.hostname},
                      {"username", s.username},
                      {"series", s.series},
                      {"tags", s.tags},
                      {"paths", s.paths},
                      {"tree", s.tree.Hex()},
                      {"program_version", s.program_version},
                      {"files", s.stats.files},
                      {"dirs", s.stats.dirs},
                      {"bytes", s.stats.bytes},
                      {"bytes_added", s.stats.stored_bytes_added}};
  if (s.parent) j["parent"] = s.parent->Hex();
  if (s.stats.acl_entries) j["acl_entries"] = *s.stats.acl_entries;
  if (!s.message.empty()) j["message"] = s.message;
  return j;
}

}  // namespace cairn
