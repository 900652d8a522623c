// StdinSource: `cairn backup --stdin`. A source holding one regular file,
// /<name>, whose content is whatever a descriptor (standard input) yields
// until it ends. The file gets mode 0644, the effective user and group of
// this process and the time the source was made. A stream cannot be read
// twice or compared with an earlier backup, so every byte is read, the
// file counts as new, and a read error fails the backup (no snapshot).
#pragma once

#include <memory>
#include <string>

#include "repo/local_fs.h"
#include "repo/source.h"

namespace cairn {

class StdinSource final : public Source {
 public:
  // InvalidArgument unless name is a plain file name (not empty, no '/').
  // fd is read, never closed; it must stay open while the source lives.
  static Result<std::unique_ptr<StdinSource>> Make(const std::string& name, int fd);

  // "/<name>": the one path to back up.
  const std::string& path() const { return path_; }

  Result<EntryInfo> Stat(const std::string& path, bool follow) override;
  Result<std::vector<std::string>> List(const std::string& path, const EntryInfo& dir) override;
  Result<std::string> ReadLink(const std::string& path, const EntryInfo& info) override;
  Result<std::vector<Xattr>> ReadXattrs(const std::string& path, const EntryInfo& info) override;
  // The content can be read once.
  Result<std::unique_ptr<SourceFile>> Open(const std::string& path,
                                           const EntryInfo& info) override;
  std::string UserName(uint32_t uid) override { return names_.UserName(uid); }
  std::string GroupName(uint32_t gid) override { return names_.GroupName(gid); }
  bool ComparesWithParent() const override { return false; }
  bool SkipUnreadable() const override { return false; }

 private:
  StdinSource(std::string path, int fd);

  const std::string path_;
  const int fd_;
  EntryInfo info_;
  IdNameCache names_;
};

}  // namespace cairn
