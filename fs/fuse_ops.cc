// The only file that includes the FUSE headers. Every callback takes the
// ArchiveFs from fuse_req_userdata, calls it, and replies with the errno
// that fs/errno_map.h gives its Status.
#define FUSE_USE_VERSION 314
#include "fs/fuse_ops.h"

#include "fs/errno_map.h"

#include <fuse_lowlevel.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>

namespace cairn {

struct FuseMount::State {
  ArchiveFs* fs = nullptr;
  Logger* log = nullptr;
  fuse_session* se = nullptr;
  std::string mountpoint;
  unsigned max_threads = 16;
  bool acl_cache = false;  // let the kernel cache POSIX ACLs (see OpInit)
  // What every tree of the mount allows (ArchiveFs::Policy, read at mount):
  // whether files may be opened by the kernel alone (no OPEN/RELEASE).
  bool trees_need_open = false;
  std::atomic<bool> no_opendir{false};  // the kernel opens directories itself (see OpOpenDir)
  std::atomic<bool> no_open{false};     // ... and files (see OpOpen)
  std::once_flag stop_once;
};

namespace {

// Snapshot content never changes: the kernel may keep names, attributes and
// pages for a day. The layout directories change on refresh.
constexpr double kImmutableTimeout = 86400.0;
constexpr double kMutableTimeout = 1.0;

ArchiveFs& Fs(fuse_req_t req) {
  return *static_cast<FuseMount::State*>(fuse_req_userdata(req))->fs;
}

struct timespec Ts(int64_t ns) {
  struct timespec t;
  t.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  t.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  if (t.tv_nsec < 0) {
    t.tv_nsec += 1'000'000'000;
    t.tv_sec -= 1;
  }
  return t;
}

struct stat ToStat(const FsAttr& a) {
  struct stat st;
  std::memset(&st, 0, sizeof(st));
  st.st_ino = a.ino;
  st.st_mode = a.mode;
  st.st_nlink = a.nlink;
  st.st_uid = a.uid;
  st.st_gid = a.gid;
  st.st_size = static_cast<off_t>(a.size);
  st.st_blocks = static_cast<blkcnt_t>(a.blocks);
  st.st_blksize = 128 * 1024;
  st.st_rdev = a.rdev;
  st.st_atim = Ts(a.atime_ns);
  st.st_mtim = Ts(a.mtime_ns);
  st.st_ctim = Ts(a.ctime_ns);
  return st;
}

fuse_entry_param ToEntry(const FsAttr& a) {
  fuse_entry_param e;
  std::memset(&e, 0, sizeof(e));
  e.ino = a.ino;
  e.attr = ToStat(a);
  e.attr_timeout = e.entry_timeout = a.immutable ? kImmutableTimeout : kMutableTimeout;
  return e;
}

void OpInit(void* userdata, fuse_conn_info* conn) {
  auto* state = static_cast<FuseMount::State*>(userdata);
  // With POSIX_ACL the kernel caches each inode's ACLs (ls -l asks for them
  // on every file: 100,000 getxattr round trips per listing otherwise), but
  // it also turns on default_permissions. So only when that changes nothing:
  // the user asked for default_permissions, or the daemon runs as root.
  if (state->acl_cache && (conn->capable & FUSE_CAP_POSIX_ACL)) {
    conn->want |= FUSE_CAP_POSIX_ACL;
  }
  conn->want |= FUSE_CAP_READDIRPLUS | FUSE_CAP_ASYNC_READ;
  // The layout directories' cached listings are dropped by their mtime.
  if ((conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) && (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)) {
    conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
    state->no_opendir = true;
  }
  // Once OPEN answers ENOSYS the kernel never sends OPEN or RELEASE again,
  // for any file of the mount (doc/semantics.md, "Opening files"): only
  // when no tree needs them.
  if ((conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) && !state->trees_need_open) {
    state->no_open = true;
  }
  conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;  // always plus: ls -l, tar and rsync stat everything
  if (conn->capable & FUSE_CAP_CACHE_SYMLINKS) conn->want |= FUSE_CAP_CACHE_SYMLINKS;
  if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
  // libfuse derives the kernel's max_pages from max_write: 1 MiB requests.
  conn->max_write = 1 << 20;
  conn->max_read = 0;  // no limit below max_pages
  conn->max_readahead = 1 << 20;
  conn->time_gran = 1;
}

void OpLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  auto a = Fs(req).Lookup(parent, name);
  if (!a) {
    // A negative entry for a name that does not exist in an immutable tree
    // could be cached too; ENOENT keeps it simple and correct on refresh.
    fuse_reply_err(req, ErrnoFor(a.error()));
    return;
  }
  fuse_entry_param e = ToEntry(*a);
  fuse_reply_entry(req, &e);
}

void OpForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  Fs(req).Forget(ino, nlookup);
  fuse_reply_none(req);
}

void OpForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  for (size_t i = 0; i < count; ++i) Fs(req).Forget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

void OpGetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  auto a = Fs(req).GetAttr(ino);
  if (!a) {
    fuse_reply_err(req, ErrnoFor(a.error()));
    return;
  }
  struct stat st = ToStat(*a);
  fuse_reply_attr(req, &st, a->immutable ? kImmutableTimeout : kMutableTimeout);
}

void OpReadLink(fuse_req_t req, fuse_ino_t ino) {
  auto t = Fs(req).ReadLink(ino);
  if (!t) {
    fuse_reply_err(req, ErrnoFor(t.error()));
    return;
  }
  fuse_reply_readlink(req, t->c_str());
}

// No OPENDIR/RELEASEDIR round trips: answering ENOSYS once (when the kernel
// supports FUSE_CAP_NO_OPENDIR_SUPPORT) makes the kernel open directories
// itself, with FOPEN_KEEP_CACHE | FOPEN_CACHE_DIR, for the rest of the mount.
// A walk then costs two READDIRPLUS per directory instead of four requests
// (find over 13k directories: 3.5 s -> 2.8 s). The kernel keeps every
// listing in its page cache: snapshot directories never change, and the
// layout directories (snapshots/, series/, ...) get a new mtime whenever a
// refresh changes the snapshot list, which makes the kernel drop their
// cached listing (ArchiveFs: layout mtimes; the kernel compares the mtime
// at the start of every listing, after revalidating the 1 s attributes).
// Without the capability, directories are opened here with the same flags
// for snapshot content and none for the layout.
void OpOpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (static_cast<FuseMount::State*>(fuse_req_userdata(req))->no_opendir) {
    fuse_reply_err(req, ENOSYS);
    return;
  }
  auto a = Fs(req).GetAttr(ino);
  if (!a) {
    fuse_reply_err(req, ErrnoFor(a.error()));
    return;
  }
  if (!S_ISDIR(a->mode)) {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  if (a->immutable) {
    fi->cache_readdir = 1;
    fi->keep_cache = 1;
  }
  fuse_reply_open(req, fi);
}

void ReadDirCommon(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus) {
  auto buf = std::make_unique_for_overwrite<char[]>(size);  // only `used` bytes are sent
  size_t used = 0;
  Status s = Fs(req).ReadDir(ino, static_cast<uint64_t>(off), [&](const FsDirEntry& e) {
    size_t need;
    if (plus) {
      fuse_entry_param ep = ToEntry(e.attr);
      if (!e.with_attributes || e.name == "." || e.name == "..") {
        // Name, type and inode number only: nodeid 0 tells the kernel to
        // create no inode for it (ListingPolicy). It skips dot entries in
        // readdirplus anyway (no lookup count).
        std::memset(&ep, 0, sizeof(ep));
        ep.attr.st_ino = e.attr.ino;
        ep.attr.st_mode = e.attr.mode;
      }
      need = fuse_add_direntry_plus(req, buf.get() + used, size - used, e.name.c_str(), &ep,
                                    static_cast<off_t>(e.next_offset));
    } else {
      struct stat st = ToStat(e.attr);
      need = fuse_add_direntry(req, buf.get() + used, size - used, e.name.c_str(), &st,
                               static_cast<off_t>(e.next_offset));
    }
    if (need > size - used) return false;
    used += need;
    return true;
  });
  if (!s.ok() && used == 0) {
    fuse_reply_err(req, ErrnoFor(s));
    return;
  }
  fuse_reply_buf(req, buf.get(), used);
}

void OpReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  ReadDirCommon(req, ino, size, off, false);
}

void OpReadDirPlus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  ReadDirCommon(req, ino, size, off, true);
}

// No OPEN/RELEASE round trips either: answering ENOSYS to a read-only open
// (when the kernel supports FUSE_CAP_NO_OPEN_SUPPORT) makes the kernel open
// every file itself from then on, with FOPEN_KEEP_CACHE, and send READs
// with fh 0, which ArchiveFs::ReadIno serves from per-inode read state. A
// tar of 83k files made 83k OPENs and 83k RELEASEs. The mount is read-only
// (ro), so the kernel refuses opens for writing before they get here; with
// -o rw they would open, and WRITE answers EROFS.
void OpOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  const bool read_only = (fi->flags & O_ACCMODE) == O_RDONLY && !(fi->flags & O_TRUNC);
  if (read_only && static_cast<FuseMount::State*>(fuse_req_userdata(req))->no_open) {
    fuse_reply_err(req, ENOSYS);
    return;
  }
  auto f = Fs(req).Open(ino, fi->flags);
  if (!f) {
    fuse_reply_err(req, ErrnoFor(f.error()));
    return;
  }
  // Pages stay cached across opens where the tree's files never change.
  fi->keep_cache = Fs(req).PolicyOf(ino).keep_cache;
  fi->fh = reinterpret_cast<uint64_t>(f->release());
  if (fuse_reply_open(req, fi) != 0) {
    // The opener went away.
    (void)Fs(req).Release(std::unique_ptr<OpenFile>(reinterpret_cast<OpenFile*>(fi->fh)));
  }
}

void OpRead(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  auto* f = reinterpret_cast<OpenFile*>(fi->fh);  // null: opened by the kernel
  // Not zero-filled: only the *n bytes read are sent (up to 1 MiB a call).
  auto buf = std::make_unique_for_overwrite<uint8_t[]>(size);
  std::span out(buf.get(), size);
  auto n = f ? Fs(req).Read(*f, static_cast<uint64_t>(off), out)
             : Fs(req).ReadIno(ino, static_cast<uint64_t>(off), out);
  if (!n) {
    fuse_reply_err(req, ReadErrno(n.error()));
    return;
  }
  fuse_reply_buf(req, reinterpret_cast<const char*>(buf.get()), *n);
}

void OpRelease(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  Status s = Fs(req).Release(std::unique_ptr<OpenFile>(reinterpret_cast<OpenFile*>(fi->fh)));
  fuse_reply_err(req, ErrnoFor(s));
}

void OpStatFs(fuse_req_t req, fuse_ino_t) {
  auto st = Fs(req).StatFs();
  if (!st) {
    fuse_reply_err(req, ErrnoFor(st.error()));
    return;
  }
  struct statvfs v;
  std::memset(&v, 0, sizeof(v));
  v.f_bsize = v.f_frsize = st->block_size;
  v.f_blocks = (st->stored_bytes + st->block_size - 1) / st->block_size;
  v.f_files = st->files;
  v.f_namemax = st->name_max;
  fuse_reply_statfs(req, &v);
}

void OpGetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  auto v = Fs(req).GetXattr(ino, name);
  if (!v) {
    fuse_reply_err(req, XattrErrno(v.error()));
    return;
  }
  if (size == 0) {
    fuse_reply_xattr(req, v->size());
  } else if (size < v->size()) {
    fuse_reply_err(req, ERANGE);
  } else {
    fuse_reply_buf(req, v->data(), v->size());
  }
}

void OpListXattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  auto names = Fs(req).ListXattr(ino);
  if (!names) {
    fuse_reply_err(req, ErrnoFor(names.error()));
    return;
  }
  std::string all;
  for (const auto& n : *names) all.append(n).push_back('\0');
  if (size == 0) {
    fuse_reply_xattr(req, all.size());
  } else if (size < all.size()) {
    fuse_reply_err(req, ERANGE);
  } else {
    fuse_reply_buf(req, all.data(), all.size());
  }
}

// Changes go to the tree of the inode (a read-only tree refuses them with
// ReadOnly: EROFS). Under the `ro` mount option the kernel refuses them
// before they get here.
void ReplyEntry(fuse_req_t req, const Result<FsAttr>& a) {
  if (!a) {
    fuse_reply_err(req, ErrnoFor(a.error()));
    return;
  }
  fuse_entry_param e = ToEntry(*a);
  fuse_reply_entry(req, &e);
}

void OpSetAttr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
               fuse_file_info* fi) {
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
  auto a = Fs(req).SetAttr(ino, c, fi ? reinterpret_cast<OpenFile*>(fi->fh) : nullptr);
  if (!a) {
    fuse_reply_err(req, ErrnoFor(a.error()));
    return;
  }
  struct stat st = ToStat(*a);
  fuse_reply_attr(req, &st, a->immutable ? kImmutableTimeout : kMutableTimeout);
}
FsCaller Caller(fuse_req_t req) {
  const fuse_ctx* c = fuse_req_ctx(req);
  return FsCaller{static_cast<uint32_t>(c->uid), static_cast<uint32_t>(c->gid)};
}
void OpMknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  ReplyEntry(req, Fs(req).MkNod(parent, name, mode, rdev, Caller(req)));
}
void OpMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  ReplyEntry(req, Fs(req).MkDir(parent, name, mode, Caller(req)));
}
void OpSymlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
  ReplyEntry(req, Fs(req).Symlink(parent, name, target, Caller(req)));
}
void OpLink(fuse_req_t req, fuse_ino_t ino, fuse_ino_t new_parent, const char* name) {
  ReplyEntry(req, Fs(req).Link(ino, new_parent, name));
}
void OpWrite(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
             fuse_file_info* fi) {
  auto n = Fs(req).Write(ino, reinterpret_cast<OpenFile*>(fi->fh), static_cast<uint64_t>(off),
                         std::span(reinterpret_cast<const uint8_t*>(buf), size));
  if (!n) {
    fuse_reply_err(req, ErrnoFor(n.error()));
    return;
  }
  fuse_reply_write(req, *n);
}
void OpUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  fuse_reply_err(req, ErrnoFor(Fs(req).Unlink(parent, name)));
}
void OpRmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  fuse_reply_err(req, ErrnoFor(Fs(req).RmDir(parent, name)));
}
void OpRename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t new_parent,
              const char* new_name, unsigned int flags) {
  fuse_reply_err(req, ErrnoFor(Fs(req).Rename(parent, name, new_parent, new_name, flags)));
}
void OpCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
              fuse_file_info* fi) {
  auto c = Fs(req).Create(parent, name, mode, fi->flags, Caller(req));
  if (!c) {
    fuse_reply_err(req, ErrnoFor(c.error()));
    return;
  }
  fuse_entry_param e = ToEntry(c->attr);
  fi->fh = reinterpret_cast<uint64_t>(c->file.release());
  if (fuse_reply_create(req, &e, fi) != 0) {
    (void)Fs(req).Release(std::unique_ptr<OpenFile>(reinterpret_cast<OpenFile*>(fi->fh)));
  }
}
void OpSetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
                int flags) {
  fuse_reply_err(req, ErrnoFor(Fs(req).SetXattr(ino, name, std::string_view(value, size), flags)));
}
void OpRemoveXattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  fuse_reply_err(req, XattrErrno(Fs(req).RemoveXattr(ino, name)));
}

fuse_lowlevel_ops MakeOps() {
  fuse_lowlevel_ops ops;
  std::memset(&ops, 0, sizeof(ops));
  ops.init = OpInit;
  ops.lookup = OpLookup;
  ops.forget = OpForget;
  ops.forget_multi = OpForgetMulti;
  ops.getattr = OpGetAttr;
  ops.readlink = OpReadLink;
  ops.opendir = OpOpenDir;
  ops.readdir = OpReadDir;
  ops.readdirplus = OpReadDirPlus;
  ops.open = OpOpen;
  ops.read = OpRead;
  ops.release = OpRelease;
  ops.statfs = OpStatFs;
  ops.getxattr = OpGetXattr;
  ops.listxattr = OpListXattr;
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
  return ops;
}

}  // namespace

Result<std::unique_ptr<FuseMount>> FuseMount::Mount(ArchiveFs& fs, const FuseMountOptions& opts,
                                                    Logger& log) {
  auto state = std::make_unique<State>();
  state->fs = &fs;
  state->log = &log;
  state->mountpoint = opts.mountpoint;
  state->max_threads = opts.max_threads;
  state->acl_cache = geteuid() == 0;
  const TreePolicy policy = fs.Policy();
  state->trees_need_open = policy.needs_open;
  // ro: the kernel refuses writes itself (EROFS), and it stops invalidating
  // an inode's atime after every READ and READDIR, which made the next stat
  // of a file just read (tar checks each file after reading it) a GETATTR
  // round trip: 96k of them in a tar of 83k files.
  // Read-only trees only: `ro` (a writable tree costs the GETATTRs above,
  // which noatime does not save: doc/semantics.md).
  std::vector<std::string> args = {
      "cairn", "-o", std::string("fsname=cairn,subtype=cairn") + (policy.writable ? "" : ",ro")};
  for (const auto& o : opts.options) {
    args.push_back("-o");
    args.push_back(o);
    if (o == "default_permissions") state->acl_cache = true;
  }
  // When no snapshot holds an ACL there is nothing for the kernel to check
  // or cache, and ArchiveFs may answer "not supported" for ACL reads (ls -l
  // then stops asking). A snapshot with ACLs found by a later refresh shows
  // them to getfacl, rsync -A and tar --acls, but the kernel does not check
  // them (doc/semantics.md).
  if (!fs.MayHoldAcls()) state->acl_cache = false;
  fs.SetKernelChecksAcls(state->acl_cache);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  fuse_args fargs = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  fuse_lowlevel_ops ops = MakeOps();
  state->se = fuse_session_new(&fargs, &ops, sizeof(ops), state.get());
  fuse_opt_free_args(&fargs);
  if (!state->se) {
    return Err(Status::InvalidArgument("cannot start FUSE with options " +
                                       [&] {
                                         std::string s;
                                         for (const auto& o : opts.options) s += o + " ";
                                         return s;
                                       }() +
                                       "(see the FUSE message above)"));
  }
  if (fuse_session_mount(state->se, opts.mountpoint.c_str()) != 0) {
    fuse_session_destroy(state->se);
    return Err(Status::IOError("cannot mount at " + opts.mountpoint +
                               " (is it an existing directory, not already mounted? is "
                               "/dev/fuse usable?)"));
  }
  return std::unique_ptr<FuseMount>(new FuseMount(std::move(state)));
}

FuseMount::FuseMount(std::unique_ptr<State> s) : state_(std::move(s)) {}

FuseMount::~FuseMount() {
  fuse_session_unmount(state_->se);  // no-op when the kernel already dropped it
  fuse_session_destroy(state_->se);
}

Status FuseMount::Run() {
  fuse_loop_config* cfg = fuse_loop_cfg_create();
  fuse_loop_cfg_set_max_threads(cfg, state_->max_threads);
  int rc = fuse_session_loop_mt(state_->se, cfg);
  fuse_loop_cfg_destroy(cfg);
  if (rc < 0) return Status::IOError(std::string("FUSE loop: ") + strerror(-rc));
  return Status::OK();
}

void FuseMount::Stop() {
  std::call_once(state_->stop_once, [&] {
    fuse_session_exit(state_->se);
    Status s = UnmountFuse(state_->mountpoint, true);
    if (!s.ok()) state_->log->Warn("{}", s.message());
  });
}

Status UnmountFuse(const std::string& mountpoint, bool lazy) {
  if (geteuid() == 0) {
    if (umount2(mountpoint.c_str(), lazy ? MNT_DETACH : 0) == 0) return Status::OK();
    int e = errno;
    if (e == EINVAL) return Status::NotFound(mountpoint + " is not mounted");
    if (e == EBUSY) {
      return Status::IOError(mountpoint + " is busy (a program uses it); `cairn umount --lazy` "
                             "detaches it now and finishes when the last user goes");
    }
    return Status::IOError("unmounting " + mountpoint + ": " + strerror(e));
  }
  std::vector<std::string> args = {"fusermount3", "-u", "-q"};
  if (lazy) args.push_back("-z");
  args.push_back(mountpoint);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  if (posix_spawnp(&pid, "fusermount3", nullptr, nullptr, argv.data(), environ) != 0) {
    return Status::IOError("cannot run fusermount3 to unmount " + mountpoint +
                           " (install fuse3)");
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::IOError("fusermount3 could not unmount " + mountpoint +
                           " (not mounted, or busy: try `cairn umount --lazy`)");
  }
  return Status::OK();
}

}  // namespace cairn
