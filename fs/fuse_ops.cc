// The FUSE session: mount, init, the reading callbacks (the changing ones
// are in fs/fuse_ops_change.cc; these two are the only files that include
// the FUSE headers, through fs/fuse_ops_internal.h). Every callback counts
// its request, takes the session from fuse_req_userdata, maps FUSE's root
// id to the session's root (fs/fuse_session.h), calls the ArchiveFs, and
// replies with the errno that fs/errno_map.h gives its Status.
#include "fs/fuse_ops.h"

#include "fs/errno_map.h"
#include "fs/fuse_ops_internal.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>

namespace cairn {
namespace fuse_ops {
namespace {

// Snapshot content never changes: the kernel may keep names, attributes and
// pages for a day. The layout directories change on refresh. A writable
// tree (head/) changes only through its own session (the daemon is its
// only writer, and every change comes through this kernel, which updates
// or drops what it cached), so its entries and attributes are kept a
// minute, negative entries included.
constexpr double kImmutableTimeout = 86400.0;
constexpr double kMutableTimeout = 1.0;
constexpr double kWritableTimeout = 60.0;

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

// a's number is the tree's: the session's root becomes FUSE's 1.
struct stat ToStat(const State& s, const FsAttr& a) {
  struct stat st;
  std::memset(&st, 0, sizeof(st));
  st.st_ino = s.root.ToFuse(a.ino);
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

double TimeoutOf(const State& s, const FsAttr& a) {
  return a.immutable ? kImmutableTimeout : s.mutable_timeout;
}

}  // namespace

State& Serve(fuse_req_t req, FuseOp op) {
  auto& s = *static_cast<State*>(fuse_req_userdata(req));
  s.counters.Count(op);
  return s;
}

fuse_entry_param ToEntry(const State& s, const FsAttr& a) {
  fuse_entry_param e;
  std::memset(&e, 0, sizeof(e));
  e.ino = s.root.ToFuse(a.ino);
  e.attr = ToStat(s, a);
  e.attr_timeout = e.entry_timeout = TimeoutOf(s, a);
  return e;
}

void ReplyAttr(fuse_req_t req, const State& s, const Result<FsAttr>& a) {
  if (!a) {
    fuse_reply_err(req, ErrnoFor(a.error()));
    return;
  }
  struct stat st = ToStat(s, *a);
  fuse_reply_attr(req, &st, TimeoutOf(s, *a));
}

void ReplyEntry(fuse_req_t req, const State& s, const Result<FsAttr>& a) {
  if (!a) {
    fuse_reply_err(req, ErrnoFor(a.error()));
    return;
  }
  fuse_entry_param e = ToEntry(s, *a);
  fuse_reply_entry(req, &e);
}

namespace {

void OpInit(void* userdata, fuse_conn_info* conn) {
  auto* state = static_cast<State*>(userdata);
  const bool writable = state->policy.writable;
  // With POSIX_ACL the kernel caches each inode's ACLs (ls -l asks for them
  // on every file: 100,000 getxattr round trips per listing otherwise), but
  // it also turns on default_permissions. So only when that changes nothing:
  // the user asked for default_permissions, or the daemon runs as root.
  // Never for a writable tree: the kernel would then also leave ACL
  // inheritance and the mode/ACL coupling to the daemon, which stores ACLs
  // as they come (FuseMount::Mount clears acl_cache).
  if (state->acl_cache && (conn->capable & FUSE_CAP_POSIX_ACL)) {
    conn->want |= FUSE_CAP_POSIX_ACL;
  }
  conn->want |= FUSE_CAP_READDIRPLUS | FUSE_CAP_ASYNC_READ;
  // The layout directories' cached listings are dropped by their mtime.
  // A writable tree's directories are opened by the daemon, without the
  // kernel's readdir cache (OpOpenDir).
  if (!writable && (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) &&
      (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)) {
    conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
    state->no_opendir = true;
  }
  // Once OPEN answers ENOSYS the kernel never sends OPEN or RELEASE again,
  // for any file of the session (doc/semantics.md, "Opening files"): only
  // when the session's tree does not need them.
  if ((conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) && !state->policy.needs_open) {
    state->no_open = true;
  }
  if (writable) {
    // HANDLE_KILLPRIV (libfuse 3.14's default) stays: without it the kernel
    // asks for security.capability before every write(2) to know whether
    // to clear it (a GETXATTR per write; rsync writes 256 KiB at a time).
    // The daemon then owns clearing suid/sgid, which head/ does not do
    // (doc/semantics.md: as for a writer with CAP_FSETID).
    // O_TRUNC arrives as a SETATTR of size 0 (the tree then needs no
    // truncation in Open), not as an open flag.
    conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
    // Write-through: every write() is a WRITE the daemon acknowledges once
    // staged; size and mtime stay the daemon's (the writeback cache is to
    // be measured against this, doc/semantics.md).
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
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
  State& s = Serve(req, FuseOp::kLookup);
  auto a = s.fs->Lookup(s.In(parent), name);
  if (!a && s.policy.writable && a.error().code() == ErrorCode::kNotFound) {
    // A negative entry (ino 0): the kernel remembers that the name does not
    // exist until the timeout or a change through this session (create,
    // rename, ...). rsync looks up every name it is about to create twice.
    // Snapshot sessions keep plain ENOENT: a refresh may add names.
    fuse_entry_param e;
    std::memset(&e, 0, sizeof(e));
    e.entry_timeout = s.mutable_timeout;
    fuse_reply_entry(req, &e);
    return;
  }
  ReplyEntry(req, s, a);
}

void OpForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  State& s = Serve(req, FuseOp::kForget);
  s.fs->Forget(s.In(ino), nlookup);
  fuse_reply_none(req);
}

void OpForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  State& s = Serve(req, FuseOp::kBatchForget);
  for (size_t i = 0; i < count; ++i) s.fs->Forget(s.In(forgets[i].ino), forgets[i].nlookup);
  fuse_reply_none(req);
}

void OpGetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  State& s = Serve(req, FuseOp::kGetattr);
  ReplyAttr(req, s, s.fs->GetAttr(s.In(ino)));
}

void OpReadLink(fuse_req_t req, fuse_ino_t ino) {
  State& s = Serve(req, FuseOp::kReadlink);
  auto t = s.fs->ReadLink(s.In(ino));
  if (!t) {
    fuse_reply_err(req, ErrnoFor(t.error()));
    return;
  }
  fuse_reply_readlink(req, t->c_str());
}

// No OPENDIR/RELEASEDIR round trips in a read-only session: answering
// ENOSYS once (when the kernel supports FUSE_CAP_NO_OPENDIR_SUPPORT) makes
// the kernel open directories itself, with FOPEN_KEEP_CACHE |
// FOPEN_CACHE_DIR, for the rest of the session.
// A walk then costs two READDIRPLUS per directory instead of four requests
// (find over 13k directories: 3.5 s -> 2.8 s). The kernel keeps every
// listing in its page cache: snapshot directories never change, and the
// layout directories (snapshots/, series/, ...) get a new mtime whenever a
// refresh changes the snapshot list, which makes the kernel drop their
// cached listing (ArchiveFs: layout mtimes; the kernel compares the mtime
// at the start of every listing, after revalidating the 1 s attributes).
// Without the capability, and always in a writable session, directories
// are opened here with the same flags for snapshot content and none for
// the rest.
void OpOpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  State& s = Serve(req, FuseOp::kOpendir);
  if (s.no_opendir) {
    fuse_reply_err(req, ENOSYS);
    return;
  }
  auto a = s.fs->GetAttr(s.In(ino));
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

void OpReleaseDir(fuse_req_t req, fuse_ino_t, fuse_file_info*) {
  Serve(req, FuseOp::kReleasedir);
  fuse_reply_err(req, 0);
}

void ReadDirCommon(fuse_req_t req, State& s, fuse_ino_t fuse_ino, size_t size, off_t off,
                   bool plus) {
  const uint64_t ino = s.In(fuse_ino);
  auto buf = std::make_unique_for_overwrite<char[]>(size);  // only `used` bytes are sent
  size_t used = 0;
  Status st = s.fs->ReadDir(ino, static_cast<uint64_t>(off), [&](const FsDirEntry& e) {
    FsAttr attr = e.attr;
    // The session root's parent is outside the session: FUSE's root is
    // its own parent.
    if (ino == s.root.root() && e.name == "..") attr.ino = s.root.root();
    size_t need;
    if (plus) {
      fuse_entry_param ep = ToEntry(s, attr);
      if (!e.with_attributes || e.name == "." || e.name == "..") {
        // Name, type and inode number only: nodeid 0 tells the kernel to
        // create no inode for it (ListingPolicy). It skips dot entries in
        // readdirplus anyway (no lookup count).
        std::memset(&ep, 0, sizeof(ep));
        ep.attr.st_ino = s.root.ToFuse(attr.ino);
        ep.attr.st_mode = attr.mode;
      }
      need = fuse_add_direntry_plus(req, buf.get() + used, size - used, e.name.c_str(), &ep,
                                    static_cast<off_t>(e.next_offset));
    } else {
      struct stat stt = ToStat(s, attr);
      need = fuse_add_direntry(req, buf.get() + used, size - used, e.name.c_str(), &stt,
                               static_cast<off_t>(e.next_offset));
    }
    if (need > size - used) return false;
    used += need;
    return true;
  });
  if (!st.ok() && used == 0) {
    fuse_reply_err(req, ErrnoFor(st));
    return;
  }
  fuse_reply_buf(req, buf.get(), used);
}

void OpReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  ReadDirCommon(req, Serve(req, FuseOp::kReaddir), ino, size, off, false);
}

void OpReadDirPlus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  ReadDirCommon(req, Serve(req, FuseOp::kReaddirplus), ino, size, off, true);
}

// No OPEN/RELEASE round trips either in a session whose tree needs no
// OPEN: answering ENOSYS to a read-only open (when the kernel supports
// FUSE_CAP_NO_OPEN_SUPPORT) makes the kernel open every file itself from
// then on, with FOPEN_KEEP_CACHE, and send READs with fh 0, which
// ArchiveFs::ReadIno serves from per-inode read state. A tar of 83k files
// made 83k OPENs and 83k RELEASEs. The snapshot session is read-only (ro),
// so the kernel refuses opens for writing before they get here; with -o rw
// they would open, and WRITE answers EROFS.
void OpOpen(fuse_req_t req, fuse_ino_t fuse_ino, fuse_file_info* fi) {
  State& s = Serve(req, FuseOp::kOpen);
  const bool read_only = (fi->flags & O_ACCMODE) == O_RDONLY && !(fi->flags & O_TRUNC);
  if (read_only && s.no_open) {
    fuse_reply_err(req, ENOSYS);
    return;
  }
  const uint64_t ino = s.In(fuse_ino);
  auto f = s.fs->Open(ino, fi->flags);
  if (!f) {
    fuse_reply_err(req, ErrnoFor(f.error()));
    return;
  }
  // Pages stay cached across opens where the tree's files never change.
  fi->keep_cache = s.fs->PolicyOf(ino).keep_cache;
  fi->fh = reinterpret_cast<uint64_t>(f->release());
  if (fuse_reply_open(req, fi) != 0) {
    // The opener went away.
    (void)s.fs->Release(std::unique_ptr<OpenFile>(FileOf(fi)));
  }
}

void OpRead(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  State& s = Serve(req, FuseOp::kRead);
  OpenFile* f = FileOf(fi);
  // Not zero-filled: only the *n bytes read are sent (up to 1 MiB a call).
  auto buf = std::make_unique_for_overwrite<uint8_t[]>(size);
  std::span out(buf.get(), size);
  auto n = f ? s.fs->Read(*f, static_cast<uint64_t>(off), out)
             : s.fs->ReadIno(s.In(ino), static_cast<uint64_t>(off), out);
  if (!n) {
    fuse_reply_err(req, ReadErrno(n.error()));
    return;
  }
  fuse_reply_buf(req, reinterpret_cast<const char*>(buf.get()), *n);
}

void OpRelease(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  State& s = Serve(req, FuseOp::kRelease);
  fuse_reply_err(req, ErrnoFor(s.fs->Release(std::unique_ptr<OpenFile>(FileOf(fi)))));
}

// Served only to be counted: ENOSYS, as libfuse answers without them (the
// kernel then does the work itself or stops asking).
void OpAccess(fuse_req_t req, fuse_ino_t, int) {
  Serve(req, FuseOp::kAccess);
  fuse_reply_err(req, ENOSYS);
}
void OpCopyFileRange(fuse_req_t req, fuse_ino_t, off_t, fuse_file_info*, fuse_ino_t, off_t,
                     fuse_file_info*, size_t, int) {
  Serve(req, FuseOp::kCopyFileRange);
  fuse_reply_err(req, ENOSYS);
}
void OpLseek(fuse_req_t req, fuse_ino_t, off_t, int, fuse_file_info*) {
  Serve(req, FuseOp::kLseek);
  fuse_reply_err(req, ENOSYS);
}

// statfs: the figures of the session root's tree when it has its own
// space (head/: the staging area), else the repository's.
void OpStatFs(fuse_req_t req, fuse_ino_t) {
  State& s = Serve(req, FuseOp::kStatfs);
  struct statvfs v;
  std::memset(&v, 0, sizeof(v));
  v.f_namemax = 255;
  if (auto space = s.fs->SpaceOf(s.root.root())) {
    constexpr uint64_t kBlock = 4096;
    // head/ has no limit of its own on entries: 2^32 free ones.
    constexpr uint64_t kFreeFiles = uint64_t{1} << 32;
    v.f_bsize = v.f_frsize = kBlock;
    v.f_blocks = space->total / kBlock;
    v.f_bfree = v.f_bavail = space->available / kBlock;
    v.f_files = space->files + kFreeFiles;
    v.f_ffree = v.f_favail = kFreeFiles;
    fuse_reply_statfs(req, &v);
    return;
  }
  auto st = s.fs->StatFs();
  if (!st) {
    fuse_reply_err(req, ErrnoFor(st.error()));
    return;
  }
  v.f_bsize = v.f_frsize = st->block_size;
  v.f_blocks = (st->stored_bytes + st->block_size - 1) / st->block_size;
  v.f_files = st->files;
  v.f_namemax = st->name_max;
  fuse_reply_statfs(req, &v);
}

void OpGetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  State& s = Serve(req, FuseOp::kGetxattr);
  auto v = s.fs->GetXattr(s.In(ino), name);
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
  State& s = Serve(req, FuseOp::kListxattr);
  auto names = s.fs->ListXattr(s.In(ino));
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
  ops.releasedir = OpReleaseDir;
  ops.readdir = OpReadDir;
  ops.readdirplus = OpReadDirPlus;
  ops.open = OpOpen;
  ops.read = OpRead;
  ops.release = OpRelease;
  ops.statfs = OpStatFs;
  ops.getxattr = OpGetXattr;
  ops.listxattr = OpListXattr;
  ops.access = OpAccess;
  ops.copy_file_range = OpCopyFileRange;
  ops.lseek = OpLseek;
  AddChangeOps(ops);
  return ops;
}

}  // namespace
}  // namespace fuse_ops

using fuse_ops::State;

Result<std::unique_ptr<FuseMount>> FuseMount::Mount(ArchiveFs& fs, const FuseMountOptions& opts,
                                                    Logger& log) {
  auto state = std::make_unique<State>();
  state->fs = &fs;
  state->log = &log;
  state->mountpoint = opts.mountpoint;
  state->max_threads = opts.max_threads;
  state->root = SessionRoot(opts.root_ino);
  const TreePolicy policy = fs.PolicyOf(opts.root_ino);
  state->policy = policy;
  state->mutable_timeout =
      policy.writable ? fuse_ops::kWritableTimeout : fuse_ops::kMutableTimeout;
  state->acl_cache = geteuid() == 0;
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
  if (policy.writable) {
    // The writable tree stores ACLs as they come and leaves their checks to
    // the kernel's default_permissions, if asked (OpInit). Its session
    // leaves the snapshots' ACL switch alone.
    state->acl_cache = false;
  } else {
    // When no snapshot holds an ACL there is nothing for the kernel to
    // check or cache, and ArchiveFs may answer "not supported" for ACL
    // reads (ls -l then stops asking). A snapshot with ACLs found by a
    // later refresh shows them to getfacl, rsync -A and tar --acls, but
    // the kernel does not check them (doc/semantics.md).
    if (!fs.MayHoldAcls()) state->acl_cache = false;
    fs.SetKernelChecksAcls(state->acl_cache);
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  fuse_args fargs = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  fuse_lowlevel_ops ops = fuse_ops::MakeOps();
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

std::map<std::string, uint64_t> FuseMount::RequestCounts() const {
  return state_->counters.ByName();
}

void FuseMount::Stop() {
  std::call_once(state_->stop_once, [&] {
    fuse_session_exit(state_->se);
    Status s = UnmountFuse(state_->mountpoint, true);
    if (!s.ok()) state_->log->Warn("{}", s.message());
  });
}

}  // namespace cairn
