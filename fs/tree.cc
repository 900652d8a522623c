#include "fs/tree.h"

#include <sys/stat.h>

namespace cairn {

bool ListDots(uint64_t ino, uint64_t parent, uint64_t offset, const DirFiller& fn) {
  FsDirEntry dot;
  dot.attr.mode = S_IFDIR | 0555;
  if (offset == 0) {
    dot.name = ".";
    dot.attr.ino = ino;
    dot.next_offset = 1;
    if (!fn(dot)) return false;
  }
  if (offset <= 1) {
    dot.name = "..";
    dot.attr.ino = parent;
    dot.next_offset = 2;
    if (!fn(dot)) return false;
  }
  return true;
}

Status Tree::Refuse(std::string_view op, uint64_t ino) {
  return Status::ReadOnly(std::string(op) + " " + host_.PathOf(ino) +
                          ": snapshots are read-only (the mount is read-only)");
}

Status Tree::Release(std::unique_ptr<OpenFile>) { return Status::OK(); }

Result<FsAttr> Tree::SetAttr(uint64_t ino, const FsSetAttr&, OpenFile*) {
  return Err(Refuse("setattr", ino));
}
Result<FsAttr> Tree::MkNod(uint64_t parent, std::string_view, uint32_t, uint64_t,
                           const FsCaller&) {
  return Err(Refuse("mknod in", parent));
}
Result<FsAttr> Tree::MkDir(uint64_t parent, std::string_view, uint32_t, const FsCaller&) {
  return Err(Refuse("mkdir in", parent));
}
Result<FsAttr> Tree::Symlink(uint64_t parent, std::string_view, std::string_view,
                             const FsCaller&) {
  return Err(Refuse("symlink in", parent));
}
Result<FsAttr> Tree::Link(uint64_t ino, uint64_t, std::string_view) {
  return Err(Refuse("link", ino));
}
Status Tree::Unlink(uint64_t parent, std::string_view) { return Refuse("unlink in", parent); }
Status Tree::RmDir(uint64_t parent, std::string_view) { return Refuse("rmdir in", parent); }
Status Tree::Rename(uint64_t parent, std::string_view, uint64_t, std::string_view, unsigned) {
  return Refuse("rename in", parent);
}
Result<Tree::Created> Tree::Create(uint64_t parent, std::string_view, uint32_t, int,
                                   const FsCaller&) {
  return Err(Refuse("create in", parent));
}
Result<size_t> Tree::Write(uint64_t ino, OpenFile*, uint64_t, std::span<const uint8_t>) {
  return Err(Refuse("write to", ino));
}
// Nothing of a read-only tree is ever dirty.
Status Tree::Fsync(uint64_t, OpenFile*, bool) { return Status::OK(); }
Status Tree::Fallocate(uint64_t ino, OpenFile*, int, uint64_t, uint64_t) {
  return Status::Unsupported("fallocate " + host_.PathOf(ino) + ": not supported here");
}
Status Tree::SetXattr(uint64_t ino, std::string_view, std::string_view, int) {
  return Refuse("setxattr", ino);
}
Status Tree::RemoveXattr(uint64_t ino, std::string_view) { return Refuse("removexattr", ino); }

}  // namespace cairn
