#include "cache/cache_db.h"

#include <lmdb.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
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
Status CacheDbError(int rc, std::string_view what) { return lmdb::Error(rc, "cache", what); }

// BlobLocation value: pack id (32) | offset fixed32 | length fixed32 |
// raw_length fixed32 | type u8 = 45 bytes.
constexpr size_t kLocSize = 45;

void EncodeLoc(const BlobLocation& l, uint8_t* out) {
  std::memcpy(out, l.pack.bytes.data(), 32);
  for (int i = 0; i < 4; ++i) {
    out[32 + i] = static_cast<uint8_t>(l.offset >> (8 * i));
    out[36 + i] = static_cast<uint8_t>(l.length >> (8 * i));
    out[40 + i] = static_cast<uint8_t>(l.raw_length >> (8 * i));
  }
  out[44] = l.type;
}

BlobLocation DecodeLoc(const uint8_t* p) {
  BlobLocation l;
  std::memcpy(l.pack.bytes.data(), p, 32);
  l.offset = DecodeFixed32(p + 32);
  l.length = DecodeFixed32(p + 36);
  l.raw_length = DecodeFixed32(p + 40);
  l.type = p[44];
  return l;
}

}  // namespace

std::string DefaultCacheDir(const std::string& repo_id) {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  std::string base;
  if (xdg && *xdg) {
    base = xdg;
  } else {
    const char* home = std::getenv("HOME");
    base = std::string(home && *home ? home : "/tmp") + "/.cache";
  }
  return base + "/cairn/" + repo_id;
}

Result<std::unique_ptr<CacheDb>> CacheDb::Open(const std::string& dir, uint64_t map_size) {
  CAIRN_ASSIGN_OR_RETURN(
      MDB_env * env,
      lmdb::OpenEnv(dir, map_size, MDB_NOTLS | MDB_NOSYNC | MDB_NOMETASYNC, 1024, "cache"));
  MDB_dbi dbis[4];
  const char* const names[4] = {"blobs", "packs", "segments", "snapshots"};
  if (Status st = lmdb::OpenTables(env, names, dbis, "cache"); !st.ok()) {
    mdb_env_close(env);
    return Err(st);
  }
  std::unique_ptr<CacheDb> db(new CacheDb(dir, env, dbis[0], dbis[1], dbis[2], dbis[3]));
  db->map_ = FileMappings(dir + "/data.mdb");
  db->map_.AdviseScatteredLookups();  // lookups map 4 KiB pages, not 2 MiB
  return db;
}

CacheDb::~CacheDb() { mdb_env_close(env_); }

void CacheDb::ReleaseMappedPages() const { map_.Release(); }

std::optional<BlobLocation> CacheDb::FindBlob(const Id& id) const {
  Txn txn(env_, false);
  if (txn.rc()) return std::nullopt;
  MDB_val k = Val(id.view()), v;
  if (mdb_get(txn.get(), blobs_, &k, &v) != 0 || v.mv_size != kLocSize) return std::nullopt;
  return DecodeLoc(static_cast<const uint8_t*>(v.mv_data));
}

std::optional<uint64_t> CacheDb::PackSize(const Id& pack) const {
  Txn txn(env_, false);
  if (txn.rc()) return std::nullopt;
  MDB_val k = Val(pack.view()), v;
  if (mdb_get(txn.get(), packs_, &k, &v) != 0 || v.mv_size != 8) return std::nullopt;
  return DecodeFixed64(static_cast<const uint8_t*>(v.mv_data));
}

Status CacheDb::AddSegment(const Id& segment, size_t count,
                           const std::function<CachedBlob(size_t)>& blob_at,
                           std::span<const std::pair<Id, uint64_t>> packs) {
  // kBlobsPerTxn per transaction: a transaction's dirty pages (malloc'd by
  // LMDB and kept by the environment for reuse after the commit, i.e. for
  // the life of the process) stay a few MiB instead of the whole table for
  // a 500,000-blob segment. A failure part-way leaves the segment
  // unmarked, and loading it again repeats idempotent puts.
  size_t next = 0;
  for (bool first = true;; first = false) {
    Txn txn(env_, true);
    if (txn.rc()) return CacheDbError(txn.rc(), "begin");
    if (first) {
      for (const auto& [id, size] : packs) {
        Bytes val;
        PutFixed64(val, size);
        MDB_val k = Val(id.view()), v = Val(val);
        int rc = mdb_put(txn.get(), packs_, &k, &v, 0);
        if (rc) return CacheDbError(rc, "add pack");
      }
    }
    uint8_t buf[kLocSize];
    for (size_t end = std::min(count, next + kBlobsPerTxn); next < end; ++next) {
      const CachedBlob b = blob_at(next);
      EncodeLoc(b.loc, buf);
      MDB_val k = Val(b.id.view()), v{kLocSize, buf};
      int rc = mdb_put(txn.get(), blobs_, &k, &v, 0);
      if (rc) return CacheDbError(rc, "add blob");
    }
    if (next == count) {
      MDB_val k = Val(segment.view()), v{0, nullptr};
      int rc = mdb_put(txn.get(), segments_, &k, &v, 0);
      if (rc) return CacheDbError(rc, "add segment");
    }
    int rc = txn.Commit();
    if (rc) return CacheDbError(rc, "commit");
    if (next == count) return Status::OK();
  }
}

bool CacheDb::HasSegment(const Id& segment) const {
  Txn txn(env_, false);
  if (txn.rc()) return false;
  MDB_val k = Val(segment.view()), v;
  return mdb_get(txn.get(), segments_, &k, &v) == 0;
}

Status CacheDb::ForEach(unsigned dbi, const std::function<void(ByteView, ByteView)>& fn) const {
  Txn txn(env_, false);
  if (txn.rc()) return CacheDbError(txn.rc(), "begin");
  MDB_cursor* cur;
  int rc = mdb_cursor_open(txn.get(), dbi, &cur);
  if (rc) return CacheDbError(rc, "cursor");
  MDB_val k, v;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    fn(View(k), View(v));
  }
  mdb_cursor_close(cur);
  return rc == MDB_NOTFOUND ? Status::OK() : CacheDbError(rc, "iterate");
}

Status CacheDb::ForEachSegment(const std::function<void(const Id&)>& fn) const {
  return ForEach(segments_, [&](ByteView k, ByteView) {
    if (k.size() == Id::kSize) fn(Id::FromView(k));
  });
}

Status CacheDb::ForEachBlob(const std::function<void(const Id&, const BlobLocation&)>& fn) const {
  return ForEach(blobs_, [&](ByteView k, ByteView v) {
    if (k.size() == Id::kSize && v.size() == kLocSize) fn(Id::FromView(k), DecodeLoc(v.data()));
  });
}

Status CacheDb::ForEachPack(const std::function<void(const Id&, uint64_t)>& fn) const {
  return ForEach(packs_, [&](ByteView k, ByteView v) {
    if (k.size() == Id::kSize && v.size() == 8) fn(Id::FromView(k), DecodeFixed64(v.data()));
  });
}

uint64_t CacheDb::BlobCount() const {
  Txn txn(env_, false);
  MDB_stat st;
  if (txn.rc() || mdb_stat(txn.get(), blobs_, &st) != 0) return 0;
  return st.ms_entries;
}

Status CacheDb::ClearIndex() {
  Txn txn(env_, true);
  if (txn.rc()) return CacheDbError(txn.rc(), "begin");
  for (unsigned dbi : {blobs_, packs_, segments_}) {
    int rc = mdb_drop(txn.get(), dbi, 0);
    if (rc) return CacheDbError(rc, "clear");
  }
  int rc = txn.Commit();
  return rc ? CacheDbError(rc, "commit") : Status::OK();
}

Status CacheDb::PutSnapshot(const Id& id, ByteView plaintext) {
  Txn txn(env_, true);
  if (txn.rc()) return CacheDbError(txn.rc(), "begin");
  MDB_val k = Val(id.view()), v = Val(plaintext);
  int rc = mdb_put(txn.get(), snapshots_, &k, &v, 0);
  if (rc) return CacheDbError(rc, "add snapshot");
  rc = txn.Commit();
  return rc ? CacheDbError(rc, "commit") : Status::OK();
}

Status CacheDb::DeleteSnapshot(const Id& id) {
  Txn txn(env_, true);
  if (txn.rc()) return CacheDbError(txn.rc(), "begin");
  MDB_val k = Val(id.view());
  int rc = mdb_del(txn.get(), snapshots_, &k, nullptr);
  if (rc && rc != MDB_NOTFOUND) return CacheDbError(rc, "delete snapshot");
  rc = txn.Commit();
  return rc ? CacheDbError(rc, "commit") : Status::OK();
}

Status CacheDb::ForEachSnapshot(const std::function<void(const Id&, ByteView)>& fn) const {
  return ForEach(snapshots_, [&](ByteView k, ByteView v) {
    if (k.size() == Id::kSize) fn(Id::FromView(k), v);
  });
}

}  // namespace cairn
