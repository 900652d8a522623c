#include "cache/tree_cache.h"

#include <lmdb.h>

#include <algorithm>
#include <filesystem>

#include "cache/lmdb_util.h"
#include "common/coding.h"
#include "common/mapped_pages.h"

namespace cairn {
namespace {

using lmdb::Txn;
using lmdb::Val;
using lmdb::View;
Status TreeCacheError(int rc, std::string_view what) {
  return lmdb::Error(rc, "tree cache", what);
}

Bytes EntryKey(const Id& tree, uint64_t ordinal) {
  Bytes k(tree.bytes.begin(), tree.bytes.end());
  PutBigEndian64(k, ordinal);
  return k;
}

Bytes NameKey(const Id& tree, std::string_view name) {
  Bytes k(tree.bytes.begin(), tree.bytes.end());
  Append(k, AsBytes(name));
  return k;
}

// entries value: length-prefixed name | value.
bool SplitEntry(ByteView v, std::string_view* name, ByteView* value) {
  Reader r(v);
  ByteView n;
  if (!r.LengthPrefixed(&n)) return false;
  *name = AsChars(n);
  *value = v.subspan(v.size() - r.remaining());
  return true;
}

// inodes value: length-prefixed identity | locator.
bool SplitInode(ByteView v, ByteView* identity, ByteView* locator) {
  Reader r(v);
  if (!r.LengthPrefixed(identity)) return false;
  *locator = v.subspan(v.size() - r.remaining());
  return true;
}

bool SameBytes(ByteView a, ByteView b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

// Probes from b.wanted in txn: sets b.ino and returns true when the identity
// is bound, or stops at the first free number (*free_ino) and returns false.
// Walks the run of taken numbers with one cursor, so probing past a whole
// directory's consecutive numbers (two bases that collide) stays cheap.
Result<bool> Probe(MDB_txn* txn, unsigned dbi, const TreeCache::Binding& b, uint64_t* ino,
                   uint64_t* free_ino) {
  uint64_t n = std::max(b.wanted, TreeCache::kFirstDynamicIno);
  MDB_cursor* cur;
  int rc = mdb_cursor_open(txn, dbi, &cur);
  if (rc) return Err(TreeCacheError(rc, "inode cursor"));
  Bytes key;
  PutBigEndian64(key, n);
  MDB_val k = Val(key), v;
  rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  for (uint64_t step = 0; step < uint64_t{1} << 24; ++step) {
    if (rc == MDB_NOTFOUND || (rc == 0 && (k.mv_size != 8 ||
                                           DecodeBigEndian64(static_cast<uint8_t*>(k.mv_data)) != n))) {
      mdb_cursor_close(cur);
      *free_ino = n;
      return false;
    }
    if (rc) break;
    ByteView id, loc;
    if (SplitInode(View(v), &id, &loc) && SameBytes(id, b.identity)) {
      mdb_cursor_close(cur);
      *ino = n;
      return true;
    }
    if (++n < TreeCache::kFirstDynamicIno) break;  // wrapped around
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  if (rc && rc != MDB_NOTFOUND) return Err(TreeCacheError(rc, "read inode"));
  return Err(Status::Corruption("tree cache: inode table has no free number near " +
                                std::to_string(b.wanted) + "; remove it with `cairn cache clear`"));
}

// Entries written between two releases of the mapped pages in PutDir.
constexpr uint64_t kReleaseEvery = 8192;

}  // namespace

Result<std::unique_ptr<TreeCache>> TreeCache::Open(const std::string& dir, uint64_t map_size) {
  // WRITEMAP: a commit only dirties mapped pages instead of pwrite()ing
  // them; the mount commits once per decoded directory and per readdir
  // batch of new inodes, so this halves the cost of a cold `find`. The
  // table is a rebuildable cache, so the weaker crash guarantee is fine.
  constexpr unsigned kFlags =
      MDB_NOTLS | MDB_NOSYNC | MDB_NOMETASYNC | MDB_WRITEMAP | MDB_MAPASYNC;
  CAIRN_ASSIGN_OR_RETURN(MDB_env * env, lmdb::OpenEnv(dir, map_size, kFlags, 1024, "tree cache"));
  MDB_dbi dbis[4];
  const char* const names[4] = {"dirs", "entries", "names", "inodes"};
  if (Status st = lmdb::OpenTables(env, names, dbis, "tree cache"); !st.ok()) {
    mdb_env_close(env);
    return Err(st);
  }
  std::unique_ptr<TreeCache> tc(new TreeCache(env, dbis[0], dbis[1], dbis[2], dbis[3]));
  tc->map_ = FileMappings(dir + "/data.mdb");
  tc->map_.AdviseScatteredLookups();
  return tc;
}

TreeCache::~TreeCache() { mdb_env_close(env_); }

void TreeCache::ReleaseMappedPages() const { map_.Release(); }

std::optional<uint64_t> TreeCache::DirCount(const Id& tree) const {
  Txn txn(env_, false);
  if (txn.rc()) return std::nullopt;
  MDB_val k = Val(tree.view()), v;
  if (mdb_get(txn.get(), dirs_, &k, &v) != 0 || v.mv_size != 8) return std::nullopt;
  return DecodeFixed64(static_cast<const uint8_t*>(v.mv_data));
}

Status TreeCache::PutDir(const Id& tree,
                         const std::function<Status(const AddEntryFn& add)>& produce) {
  Txn txn(env_, true);
  if (txn.rc()) return TreeCacheError(txn.rc(), "begin");
  uint64_t ordinal = 0;
  Bytes val;
  auto add = [&](std::string_view name, ByteView value) -> Status {
    Bytes ek = EntryKey(tree, ordinal);
    val.clear();
    PutLengthPrefixed(val, name);
    Append(val, value);
    MDB_val k = Val(ek), v = Val(val);
    int rc = mdb_put(txn.get(), entries_, &k, &v, 0);
    if (rc) return TreeCacheError(rc, "add entry");
    Bytes nk = NameKey(tree, name);
    Bytes ord;
    PutFixed64(ord, ordinal);
    k = Val(nk);
    v = Val(ord);
    rc = mdb_put(txn.get(), names_, &k, &v, 0);
    if (rc) return TreeCacheError(rc, "add name");
    // With MDB_WRITEMAP the transaction writes straight into the shared
    // map; its pages stay in the page cache when unmapped, so a directory
    // of 100,000 entries (~40 MB of pages) need not sit in the RSS.
    if (++ordinal % kReleaseEvery == 0) ReleaseMappedPages();
    return Status::OK();
  };
  CAIRN_RETURN_IF_ERROR(produce(add));
  Bytes count;
  PutFixed64(count, ordinal);
  MDB_val k = Val(tree.view()), v = Val(count);
  int rc = mdb_put(txn.get(), dirs_, &k, &v, 0);
  if (rc) return TreeCacheError(rc, "mark directory");
  rc = txn.Commit();
  return rc ? TreeCacheError(rc, "commit") : Status::OK();
}

std::optional<TreeCache::Entry> TreeCache::FindName(const Id& tree, std::string_view name) const {
  Txn txn(env_, false);
  if (txn.rc()) return std::nullopt;
  Bytes nk = NameKey(tree, name);
  MDB_val k = Val(nk), v;
  if (mdb_get(txn.get(), names_, &k, &v) != 0 || v.mv_size != 8) return std::nullopt;
  Entry e;
  e.ordinal = DecodeFixed64(static_cast<const uint8_t*>(v.mv_data));
  Bytes ek = EntryKey(tree, e.ordinal);
  k = Val(ek);
  if (mdb_get(txn.get(), entries_, &k, &v) != 0) return std::nullopt;
  std::string_view n;
  ByteView value;
  if (!SplitEntry(View(v), &n, &value)) return std::nullopt;
  e.name = n;
  e.value.assign(value.begin(), value.end());
  return e;
}

Status TreeCache::ScanDir(
    const Id& tree, uint64_t from,
    const std::function<bool(uint64_t, std::string_view, ByteView)>& fn) const {
  Txn txn(env_, false);
  if (txn.rc()) return TreeCacheError(txn.rc(), "begin");
  MDB_cursor* cur;
  int rc = mdb_cursor_open(txn.get(), entries_, &cur);
  if (rc) return TreeCacheError(rc, "cursor");
  Bytes start = EntryKey(tree, from);
  MDB_val k = Val(start), v;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    ByteView key = View(k);
    if (key.size() != Id::kSize + 8 || std::memcmp(key.data(), tree.bytes.data(), Id::kSize)) {
      break;
    }
    std::string_view name;
    ByteView value;
    if (!SplitEntry(View(v), &name, &value)) {
      rc = MDB_CORRUPTED;
      break;
    }
    if (!fn(DecodeBigEndian64(key.data() + Id::kSize), name, value)) break;
  }
  mdb_cursor_close(cur);
  return rc == 0 || rc == MDB_NOTFOUND ? Status::OK() : TreeCacheError(rc, "scan directory");
}

Status TreeCache::Bind(std::span<Binding> bindings) {
  std::vector<size_t> unbound;
  {
    Txn txn(env_, false);
    if (txn.rc()) return TreeCacheError(txn.rc(), "begin");
    for (size_t i = 0; i < bindings.size(); ++i) {
      uint64_t free_ino = 0;
      CAIRN_ASSIGN_OR_RETURN(bool found,
                             Probe(txn.get(), inodes_, bindings[i], &bindings[i].ino, &free_ino));
      if (!found) unbound.push_back(i);
    }
  }
  if (unbound.empty()) return Status::OK();
  // Probe again inside the write transaction: another thread may have
  // bound the same identity, or taken the free number, meanwhile.
  Txn txn(env_, true);
  if (txn.rc()) return TreeCacheError(txn.rc(), "begin");
  for (size_t i : unbound) {
    Binding& b = bindings[i];
    uint64_t free_ino = 0;
    CAIRN_ASSIGN_OR_RETURN(bool found, Probe(txn.get(), inodes_, b, &b.ino, &free_ino));
    if (found) continue;
    Bytes key, val;
    PutBigEndian64(key, free_ino);
    PutLengthPrefixed(val, b.identity);
    Append(val, b.locator);
    MDB_val k = Val(key), v = Val(val);
    int rc = mdb_put(txn.get(), inodes_, &k, &v, 0);
    if (rc) return TreeCacheError(rc, "bind inode");
    b.ino = free_ino;
  }
  int rc = txn.Commit();
  if (unbound.size() >= kReleaseEvery / 4) ReleaseMappedPages();
  return rc ? TreeCacheError(rc, "commit") : Status::OK();
}

std::optional<Bytes> TreeCache::Locator(uint64_t ino) const {
  Txn txn(env_, false);
  if (txn.rc()) return std::nullopt;
  Bytes key;
  PutBigEndian64(key, ino);
  MDB_val k = Val(key), v;
  if (mdb_get(txn.get(), inodes_, &k, &v) != 0) return std::nullopt;
  ByteView id, loc;
  if (!SplitInode(View(v), &id, &loc)) return std::nullopt;
  return Bytes(loc.begin(), loc.end());
}

}  // namespace cairn
