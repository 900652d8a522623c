#include "cache/head_journal.h"

#include <lmdb.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>

#include "cache/lmdb_util.h"
#include "common/coding.h"

namespace cairn {
namespace {

using lmdb::Txn;
using lmdb::Val;
using lmdb::View;

// Files of the environment: only the user who mounts may read what was
// written into head/.
constexpr mdb_mode_t kFileMode = 0600;
constexpr mode_t kDirMode = 0700;
// Readers are short: the tree loads everything at start, status reads a
// count. MDB_NOTLS so any thread may begin a transaction.
constexpr unsigned kReaders = 126;
// MDB_NOSYNC: a commit reaches the page cache (survives kill -9) and
// Sync makes it durable (see the header). Not MDB_WRITEMAP: a stray write
// through the map must not be able to damage what cannot be rebuilt.
constexpr unsigned kFlags = MDB_NOSYNC | MDB_NOTLS;

std::string Name(const std::string& dir) { return "head journal " + dir; }

// lmdb::Error, except that a full map is NoSpace here (the writer gets
// ENOSPC and nothing is applied) and its fix is to seal, not to clear: this
// is not a cache, clearing it loses what head/ holds.
Status JournalError(int rc, const std::string& dir, std::string_view what) {
  if (rc == MDB_MAP_FULL) {
    return Status::NoSpace(lmdb::Message(rc, Name(dir), what) +
                           " (the journal is full; seal head/ with `cairn seal` to empty it)");
  }
  if (rc == MDB_BAD_VALSIZE) {
    return Status::InvalidArgument(lmdb::Message(rc, Name(dir), what));
  }
  return lmdb::Error(rc, Name(dir), what);
}

Bytes InodeKey(uint64_t ino) {
  Bytes k;
  PutBigEndian64(k, ino);
  return k;
}

// parent (big-endian) | name bytes: sorts by parent, then by name bytes.
Bytes DirentKey(uint64_t parent, std::string_view name) {
  Bytes k;
  k.reserve(8 + name.size());
  PutBigEndian64(k, parent);
  Append(k, AsBytes(name));
  return k;
}

// Creates the parents as needed and dir itself with kDirMode (an existing
// dir keeps its mode).
Status MakeDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::path p(dir);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  if (!ec && ::mkdir(dir.c_str(), kDirMode) != 0) {
    ec = std::error_code(errno, std::generic_category());
    if (errno == EEXIST && std::filesystem::is_directory(dir)) ec.clear();
  }
  if (ec) {
    Status st = Status::IOError(Name(dir) + ": cannot create " + dir + ": " + ec.message() +
                                " (use --staging-dir to pick another place)");
    return ec.value() == ENOSPC ? Status::NoSpace(st.message()) : st;
  }
  return Status::OK();
}

}  // namespace

// ---- Batch ----

void HeadJournal::Batch::PutMeta(std::string_view key, ByteView value) {
  ops_.push_back(Op{Kind::kMeta, 0, 0, std::string(key), Bytes(value.begin(), value.end())});
}
void HeadJournal::Batch::PutInode(uint64_t ino, ByteView record) {
  ops_.push_back(Op{Kind::kPutInode, ino, 0, {}, Bytes(record.begin(), record.end())});
}
void HeadJournal::Batch::DeleteInode(uint64_t ino) {
  ops_.push_back(Op{Kind::kDelInode, ino, 0, {}, {}});
}
void HeadJournal::Batch::PutDirent(uint64_t parent, std::string_view name, uint64_t child) {
  ops_.push_back(Op{Kind::kPutDirent, parent, child, std::string(name), {}});
}
void HeadJournal::Batch::DeleteDirent(uint64_t parent, std::string_view name) {
  ops_.push_back(Op{Kind::kDelDirent, parent, 0, std::string(name), {}});
}
void HeadJournal::Batch::ClearEntries() { ops_.push_back(Op{Kind::kClear, 0, 0, {}, {}}); }

// ---- HeadJournal ----

Result<std::unique_ptr<HeadJournal>> HeadJournal::Open(const std::string& dir,
                                                       uint64_t map_size) {
  CAIRN_RETURN_IF_ERROR(MakeDir(dir));
  CAIRN_ASSIGN_OR_RETURN(MDB_env * env,
                         lmdb::OpenEnv(dir, map_size, kFlags, kReaders, Name(dir), kFileMode));
  MDB_dbi dbis[3];
  const char* const names[3] = {"meta", "inodes", "dirents"};
  if (Status st = lmdb::OpenTables(env, names, dbis, Name(dir)); !st.ok()) {
    mdb_env_close(env);
    return Err(st);
  }
  std::unique_ptr<HeadJournal> j(new HeadJournal(dir, env, dbis[0], dbis[1], dbis[2]));

  // The format: written once on creation, checked on every open.
  CAIRN_ASSIGN_OR_RETURN(std::optional<Bytes> format, j->GetMeta("format"));
  if (!format) {
    Bytes v;
    PutFixed32(v, kFormat);
    Batch b;
    b.PutMeta("format", v);
    CAIRN_RETURN_IF_ERROR(j->Commit(b));
    CAIRN_RETURN_IF_ERROR(j->Sync());
  } else if (format->size() != 4) {
    return Err(Status::Corruption(Name(dir) + ": format record of " +
                                  std::to_string(format->size()) +
                                  " bytes instead of 4 (the journal is damaged)"));
  } else if (uint32_t f = DecodeFixed32(format->data()); f > kFormat) {
    return Err(Status::Unsupported(Name(dir) + ": format " + std::to_string(f) +
                                   " written by a newer cairn; upgrade cairn (this one reads "
                                   "format " + std::to_string(kFormat) + ")"));
  }
  return j;
}

HeadJournal::~HeadJournal() { mdb_env_close(env_); }

Status HeadJournal::Commit(const Batch& batch) {
  if (batch.empty()) return Status::OK();
  Txn txn(env_, true);
  if (txn.rc()) return JournalError(txn.rc(), dir_, "begin");
  // Any failure returns before txn.Commit(): Txn aborts, nothing applied.
  for (const Batch::Op& op : batch.ops_) {
    int rc = 0;
    std::string_view what;
    switch (op.kind) {
      case Batch::Kind::kMeta: {
        MDB_val k = Val(AsBytes(op.key)), v = Val(op.value);
        rc = mdb_put(txn.get(), meta_, &k, &v, 0);
        what = "put meta";
        break;
      }
      case Batch::Kind::kPutInode: {
        Bytes key = InodeKey(op.a);
        MDB_val k = Val(key), v = Val(op.value);
        rc = mdb_put(txn.get(), inodes_, &k, &v, 0);
        what = "put inode";
        break;
      }
      case Batch::Kind::kDelInode: {
        Bytes key = InodeKey(op.a);
        MDB_val k = Val(key);
        rc = mdb_del(txn.get(), inodes_, &k, nullptr);
        if (rc == MDB_NOTFOUND) rc = 0;
        what = "delete inode";
        break;
      }
      case Batch::Kind::kPutDirent: {
        Bytes key = DirentKey(op.a, op.key);
        Bytes child = InodeKey(op.b);
        MDB_val k = Val(key), v = Val(child);
        rc = mdb_put(txn.get(), dirents_, &k, &v, 0);
        what = "put entry";
        break;
      }
      case Batch::Kind::kDelDirent: {
        Bytes key = DirentKey(op.a, op.key);
        MDB_val k = Val(key);
        rc = mdb_del(txn.get(), dirents_, &k, nullptr);
        if (rc == MDB_NOTFOUND) rc = 0;
        what = "delete entry";
        break;
      }
      case Batch::Kind::kClear:
        rc = mdb_drop(txn.get(), inodes_, 0);
        if (rc == 0) rc = mdb_drop(txn.get(), dirents_, 0);
        what = "clear entries";
        break;
    }
    if (rc) return JournalError(rc, dir_, what);
  }
  if (int rc = txn.Commit()) return JournalError(rc, dir_, "commit");
  return Status::OK();
}

Status HeadJournal::Sync() {
  if (int rc = mdb_env_sync(env_, 1)) return JournalError(rc, dir_, "sync");
  return Status::OK();
}

Result<std::optional<Bytes>> HeadJournal::GetMeta(std::string_view key) const {
  Txn txn(env_, false);
  if (txn.rc()) return Err(JournalError(txn.rc(), dir_, "begin"));
  MDB_val k = Val(AsBytes(key)), v;
  int rc = mdb_get(txn.get(), meta_, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<Bytes>();
  if (rc) return Err(JournalError(rc, dir_, "read meta"));
  ByteView view = View(v);
  return std::optional<Bytes>(Bytes(view.begin(), view.end()));
}

namespace {

// Calls each(key, value) for every record of dbi in key order; stops at the
// first error (of each or of LMDB).
Status Scan(MDB_env* env, unsigned dbi, const std::string& dir, std::string_view table,
            const std::function<Status(ByteView key, ByteView value)>& each) {
  Txn txn(env, false);
  if (txn.rc()) return JournalError(txn.rc(), dir, "begin");
  MDB_cursor* cur;
  if (int rc = mdb_cursor_open(txn.get(), dbi, &cur)) {
    return JournalError(rc, dir, std::string("open cursor on ") + std::string(table));
  }
  MDB_val k, v;
  int rc;
  Status st;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    st = each(View(k), View(v));
    if (!st.ok()) break;
  }
  mdb_cursor_close(cur);
  if (!st.ok()) return st;
  if (rc != MDB_NOTFOUND) return JournalError(rc, dir, std::string("read ") + std::string(table));
  return Status::OK();
}

uint64_t Entries(MDB_env* env, unsigned dbi) {
  Txn txn(env, false);
  if (txn.rc()) return 0;
  MDB_stat st;
  if (mdb_stat(txn.get(), dbi, &st)) return 0;
  return st.ms_entries;
}

}  // namespace

Status HeadJournal::ForEachInode(
    const std::function<Status(uint64_t ino, ByteView record)>& fn) const {
  return Scan(env_, inodes_, dir_, "inodes", [&](ByteView key, ByteView value) -> Status {
    if (key.size() != 8) {
      return Status::Corruption(Name(dir_) + ": inode key of " + std::to_string(key.size()) +
                                " bytes instead of 8 (the journal is damaged)");
    }
    return fn(DecodeBigEndian64(key.data()), value);
  });
}

Status HeadJournal::ForEachDirent(
    const std::function<Status(uint64_t parent, std::string_view name, uint64_t child)>& fn)
    const {
  return Scan(env_, dirents_, dir_, "entries", [&](ByteView key, ByteView value) -> Status {
    if (key.size() < 8 || value.size() != 8) {
      return Status::Corruption(Name(dir_) + ": entry record of " +
                                std::to_string(key.size()) + "+" +
                                std::to_string(value.size()) +
                                " bytes (key >= 8, value 8 expected; the journal is damaged)");
    }
    return fn(DecodeBigEndian64(key.data()), AsChars(key.subspan(8)),
              DecodeBigEndian64(value.data()));
  });
}

uint64_t HeadJournal::InodeCount() const { return Entries(env_, inodes_); }
uint64_t HeadJournal::DirentCount() const { return Entries(env_, dirents_); }

}  // namespace cairn
