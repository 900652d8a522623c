#include "repo/source.h"

namespace cairn {

void FillNodeFromInfo(const EntryInfo& info, Node& node) {
  node.type = info.type;
  node.mode = info.mode & 07777;
  node.uid = info.uid;
  node.gid = info.gid;
  node.size = info.type == NodeType::kFile || info.type == NodeType::kSymlink ? info.size : 0;
  node.mtime_ns = info.mtime_ns;
  node.ctime_ns = info.ctime_ns;
  node.atime_ns = info.atime_ns;
  node.device = info.device;
  node.inode = info.inode;
  // A directory's link count only counts its subdirectories: not a hard link.
  node.nlink = info.type == NodeType::kDir ? 1 : info.nlink;
  node.rdev = info.type == NodeType::kCharDev || info.type == NodeType::kBlockDev ? info.rdev : 0;
}

Result<std::optional<uint64_t>> SourceFile::SeekData(uint64_t offset) {
  CAIRN_ASSIGN_OR_RETURN(uint64_t end, SeekEnd());
  return offset < end ? std::optional<uint64_t>(offset) : std::nullopt;
}

Result<uint64_t> SourceFile::SeekHole(uint64_t /*offset*/) { return SeekEnd(); }

}  // namespace cairn
