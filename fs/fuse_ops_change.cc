// The FUSE callbacks that change a tree (fs/fuse_ops_internal.h). Each goes
// to the tree of its inode; a read-only tree refuses with ReadOnly (EROFS),
// and under the snapshot session's `ro` the kernel refuses before they get
// here. A read-only session answers flush, fsync, fsyncdir and fallocate
// with ENOSYS, as libfuse does without the callbacks.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <span>
#include <string_view>

#include "fs/errno_map.h"
#include "fs/fuse_ops_internal.h"

namespace cairn::fuse_ops {
namespace {

// FLUSH comes on every close(2) of a descriptor. No tree finishes
// anything there (every change is acknowledged when it is made), so every
// session answers ENOSYS, as libfuse does without the callback: the kernel
// then stops sending it (rsync closes each file three times: 3 requests
// per file saved).
void OpFlush(fuse_req_t req, fuse_ino_t, fuse_file_info*) {
  Serve(req, FuseOp::kFlush);
  fuse_reply_err(req, ENOSYS);
}

// fsync, fsyncdir and fallocate of a read-only session: ENOSYS, as libfuse
// answers without the callbacks (the kernel then stops asking: fsync
// succeeds, fallocate is EOPNOTSUPP).
void OpFsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
  State& s = Serve(req, FuseOp::kFsync);
  if (!s.policy.writable) {
    fuse_reply_err(req, ENOSYS);
    return;
  }
  fuse_reply_err(req, ErrnoFor(s.fs->Fsync(s.In(ino), FileOf(fi), datasync != 0)));
}

void OpFsyncDir(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info*) {
  State& s = Serve(req, FuseOp::kFsyncdir);
  if (!s.policy.writable) {
    fuse_reply_err(req, ENOSYS);
    return;
  }
  fuse_reply_err(req, ErrnoFor(s.fs->Fsync(s.In(ino), nullptr, datasync != 0)));
}

void OpFallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                 fuse_file_info* fi) {
  State& s = Serve(req, FuseOp::kFallocate);
  if (!s.policy.writable) {
    fuse_reply_err(req, ENOSYS);
    return;
  }
  fuse_reply_err(req, ErrnoFor(s.fs->Fallocate(s.In(ino), FileOf(fi), mode,
                                               static_cast<uint64_t>(offset),
                                               static_cast<uint64_t>(length))));
}

// Changes go to the tree of the inode (a read-only tree refuses them with
// ReadOnly: EROFS). Under the `ro` mount option the kernel refuses them
// before they get here.
void OpSetAttr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
               fuse_file_info* fi) {
  State& s = Serve(req, FuseOp::kSetattr);
  FsSetAttr c;
  if (to_set & FUSE_SET_ATTR_MODE) c.mode = attr->st_mode & 07777;
  if (to_set & FUSE_SET_ATTR_UID) c.uid = attr->st_uid;
  if (to_set & FUSE_SET_ATTR_GID) c.gid = attr->st_gid;
  if (to_set & FUSE_SET_ATTR_SIZE) c.size = static_cast<uint64_t>(attr->st_size);
  auto ns = [](const timespec& t) { return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec; };
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
    c.atime_ns = ns(now);
  } else if (to_set & FUSE_SET_ATTR_ATIME) {
    c.atime_ns = ns(attr->st_atim);
  }
  if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
    c.mtime_ns = ns(now);
  } else if (to_set & FUSE_SET_ATTR_MTIME) {
    c.mtime_ns = ns(attr->st_mtim);
  }
  ReplyAttr(req, s, s.fs->SetAttr(s.In(ino), c, FileOf(fi)));
}
FsCaller Caller(fuse_req_t req) {
  const fuse_ctx* c = fuse_req_ctx(req);
  return FsCaller{static_cast<uint32_t>(c->uid), static_cast<uint32_t>(c->gid)};
}
void OpMknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  State& s = Serve(req, FuseOp::kMknod);
  ReplyEntry(req, s, s.fs->MkNod(s.In(parent), name, mode, rdev, Caller(req)));
}
void OpMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  State& s = Serve(req, FuseOp::kMkdir);
  ReplyEntry(req, s, s.fs->MkDir(s.In(parent), name, mode, Caller(req)));
}
void OpSymlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
  State& s = Serve(req, FuseOp::kSymlink);
  ReplyEntry(req, s, s.fs->Symlink(s.In(parent), name, target, Caller(req)));
}
void OpLink(fuse_req_t req, fuse_ino_t ino, fuse_ino_t new_parent, const char* name) {
  State& s = Serve(req, FuseOp::kLink);
  ReplyEntry(req, s, s.fs->Link(s.In(ino), s.In(new_parent), name));
}
void OpWrite(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
             fuse_file_info* fi) {
  State& s = Serve(req, FuseOp::kWrite);
  auto n = s.fs->Write(s.In(ino), FileOf(fi), static_cast<uint64_t>(off),
                       std::span(reinterpret_cast<const uint8_t*>(buf), size));
  if (!n) {
    fuse_reply_err(req, ErrnoFor(n.error()));
    return;
  }
  fuse_reply_write(req, *n);
}
void OpUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  State& s = Serve(req, FuseOp::kUnlink);
  fuse_reply_err(req, ErrnoFor(s.fs->Unlink(s.In(parent), name)));
}
void OpRmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  State& s = Serve(req, FuseOp::kRmdir);
  fuse_reply_err(req, ErrnoFor(s.fs->RmDir(s.In(parent), name)));
}
// flags (RENAME_NOREPLACE, RENAME_EXCHANGE) go to the tree as they come.
void OpRename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t new_parent,
              const char* new_name, unsigned int flags) {
  State& s = Serve(req, FuseOp::kRename);
  fuse_reply_err(req,
                 ErrnoFor(s.fs->Rename(s.In(parent), name, s.In(new_parent), new_name, flags)));
}
void OpCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
              fuse_file_info* fi) {
  State& s = Serve(req, FuseOp::kCreate);
  auto c = s.fs->Create(s.In(parent), name, mode, fi->flags, Caller(req));
  if (!c) {
    fuse_reply_err(req, ErrnoFor(c.error()));
    return;
  }
  fuse_entry_param e = ToEntry(s, c->attr);
  fi->keep_cache = s.fs->PolicyOf(c->attr.ino).keep_cache;
  fi->fh = reinterpret_cast<uint64_t>(c->file.release());
  if (fuse_reply_create(req, &e, fi) != 0) {
    (void)s.fs->Release(std::unique_ptr<OpenFile>(FileOf(fi)));
  }
}
void OpSetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
                int flags) {
  State& s = Serve(req, FuseOp::kSetxattr);
  fuse_reply_err(req,
                 ErrnoFor(s.fs->SetXattr(s.In(ino), name, std::string_view(value, size), flags)));
}
void OpRemoveXattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  State& s = Serve(req, FuseOp::kRemovexattr);
  fuse_reply_err(req, XattrErrno(s.fs->RemoveXattr(s.In(ino), name)));
}

}  // namespace

void AddChangeOps(fuse_lowlevel_ops& ops) {
  ops.flush = OpFlush;
  ops.fsync = OpFsync;
  ops.fsyncdir = OpFsyncDir;
  ops.fallocate = OpFallocate;
  ops.write = OpWrite;
  ops.setattr = OpSetAttr;
  ops.mknod = OpMknod;
  ops.mkdir = OpMkdir;
  ops.unlink = OpUnlink;
  ops.rmdir = OpRmdir;
  ops.symlink = OpSymlink;
  ops.rename = OpRename;
  ops.link = OpLink;
  ops.create = OpCreate;
  ops.setxattr = OpSetXattr;
  ops.removexattr = OpRemoveXattr;
}

}  // namespace cairn::fuse_ops
