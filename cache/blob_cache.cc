#include "cache/blob_cache.h"

#include <fcntl.h>
#include <lmdb.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "cache/lmdb_util.h"
#include "common/coding.h"
#include "common/file_io.h"
#include "common/hex.h"

namespace cairn {
namespace {

using lmdb::Txn;
using lmdb::Val;
std::string LmdbMessage(int rc, std::string_view what) {
  return lmdb::Message(rc, "blob cache", what);
}

constexpr size_t kEntrySize = 24;     // slab | offset | size, fixed64 each
constexpr uint64_t kFlushEvery = 256;  // Gets between tick write-backs
constexpr uint64_t kMinSlab = 64 << 10, kMaxSlab = 64 << 20;

// Reads exactly size bytes at offset; empty with why set otherwise.
std::optional<Bytes> ReadRange(LocalFiles& files, std::string path, uint64_t offset,
                               uint64_t size, std::string& why) {
  auto file = files.Open(std::move(path), OpenMode::kRead);
  if (!file) {
    why = file.error().message();
    return std::nullopt;
  }
  Bytes out;
  out.resize(size);
  auto got = file->PRead(out.data(), size, offset);
  if (!got) {
    why = got.error().message();
    return std::nullopt;
  }
  if (*got < size) {
    why = "slab truncated (" + std::to_string(offset + *got) + " bytes, the blob ends at " +
          std::to_string(offset + size) + ")";
    return std::nullopt;
  }
  return out;
}

Status WriteRange(LocalFiles& files, std::string path, uint64_t offset, ByteView data) {
  CAIRN_ASSIGN_OR_RETURN(LocalFile file, files.Open(std::move(path), OpenMode::kWrite, 0600));
  CAIRN_RETURN_IF_ERROR(file.PWrite(data, offset));
  return file.Close();
}

}  // namespace

Result<std::unique_ptr<BlobCache>> BlobCache::Open(const std::string& dir, uint64_t limit_bytes,
                                                   Logger* logger, LocalFiles* files) {
  std::error_code ec;
  std::filesystem::create_directories(dir + "/slabs", ec);
  if (ec) {
    return Err(Status::IOError("blob cache: cannot create " + dir + ": " + ec.message() +
                               " (use --cache-dir to pick another place)"));
  }
  const std::string lock_path = dir + "/lock";
  Fd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock.valid()) {
    return Err(Status::IOError("blob cache: cannot open " + lock_path + ": " +
                               std::strerror(errno) + " (use --cache-dir to pick another place)"));
  }
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    return Err(Status::Locked("blob cache " + dir + " is in use by another cairn process (another "
                              "mount of this repository?); stop it or use another --cache-dir"));
  }
  // NOSYNC: everything here can be refetched; Load reconciles index and slabs.
  // ~100 bytes per blob: the map has room for 100M+ blobs.
  const std::string index = dir + "/index";
  auto with_fix = [](const Status& s) {
    return Status(s.code(), s.message() + " (remove the directory to start an empty cache)");
  };
  auto env = lmdb::OpenEnv(index, uint64_t{1} << 34, MDB_NOTLS | MDB_NOSYNC | MDB_NOMETASYNC, 256,
                           "blob cache", 0600);
  if (!env) return Err(with_fix(env.error()));
  MDB_dbi dbis[3];
  static constexpr const char* kTables[3] = {"blobs", "members", "slabs"};
  if (Status s = lmdb::OpenTables(*env, kTables, dbis, "blob cache"); !s.ok()) {
    mdb_env_close(*env);
    return Err(with_fix(s));
  }
  std::unique_ptr<BlobCache> cache(new BlobCache(dir, limit_bytes, logger,
                                                 files ? *files : LocalFiles::Posix(),
                                                 std::move(lock), *env, dbis[0], dbis[1], dbis[2]));
  CAIRN_RETURN_IF_ERROR(cache->Load());
  return cache;
}

BlobCache::BlobCache(std::string dir, uint64_t limit, Logger* logger, LocalFiles& files, Fd lock,
                     MDB_env* env, unsigned blobs, unsigned members, unsigned slabs)
    : dir_(std::move(dir)),
      limit_(limit),
      slab_bytes_(std::clamp<uint64_t>(limit / 16, kMinSlab, kMaxSlab)),
      logger_(logger ? logger : &null_logger_),
      files_(files),
      lock_(std::move(lock)),
      env_(env),
      blobs_(blobs),
      members_(members),
      slabs_dbi_(slabs) {}

BlobCache::~BlobCache() {
  FlushTicks();
  mdb_env_close(env_);
  // lock_ closes after this body: the flock is released last.
}

std::string BlobCache::SlabPath(uint64_t slab) const {
  uint8_t be[8];
  EncodeBigEndian64(slab, be);
  return dir_ + "/slabs/" + ToHex(ByteView(be, 8));
}

void BlobCache::Warn(const std::string& msg) const { logger_->Warn("blob cache {}: {}", dir_, msg); }

Status BlobCache::Load() {
  // 1. Slab files (anything else in slabs/ is removed).
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir_ + "/slabs", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    auto raw = name.size() == 16 ? FromHex(name) : std::nullopt;
    std::error_code ec2;
    uint64_t size = it->file_size(ec2);
    if (!raw || raw->size() != 8 || ec2) {
      std::filesystem::remove_all(it->path(), ec2);
      continue;
    }
    uint64_t n = DecodeBigEndian64(raw->data());
    slabs_[n].size = size;
    next_slab_ = std::max(next_slab_, n + 1);
  }
  // 2. The index: entries whose slab is gone or too short are dropped.
  std::set<uint64_t> referenced;
  {
    Txn txn(env_, true);
    if (txn.rc()) return lmdb::Error(txn.rc(), "blob cache", "begin");
    MDB_cursor* cur;
    int rc = mdb_cursor_open(txn.get(), blobs_, &cur);
    if (rc) return lmdb::Error(rc, "blob cache", "cursor");
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
      const auto* p = static_cast<const uint8_t*>(v.mv_data);
      bool keep = k.mv_size == Id::kSize && v.mv_size == kEntrySize;
      if (keep) {
        uint64_t slab = DecodeFixed64(p), off = DecodeFixed64(p + 8), size = DecodeFixed64(p + 16);
        auto s = slabs_.find(slab);
        keep = s != slabs_.end() && off + size <= s->second.size;
        if (keep) referenced.insert(slab);
      }
      if (!keep) mdb_cursor_del(cur, 0);
    }
    mdb_cursor_close(cur);
    // Slab ticks; records of slabs that are gone are dropped.
    rc = mdb_cursor_open(txn.get(), slabs_dbi_, &cur);
    if (rc) return lmdb::Error(rc, "blob cache", "cursor");
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
      auto s = k.mv_size == 8 && v.mv_size == 8
                   ? slabs_.find(DecodeBigEndian64(static_cast<const uint8_t*>(k.mv_data)))
                   : slabs_.end();
      if (s == slabs_.end() || !referenced.count(s->first)) {
        mdb_cursor_del(cur, 0);
        continue;
      }
      s->second.tick = DecodeFixed64(static_cast<const uint8_t*>(v.mv_data));
      tick_ = std::max(tick_, s->second.tick);
    }
    mdb_cursor_close(cur);
    // Members of slabs that are gone.
    rc = mdb_cursor_open(txn.get(), members_, &cur);
    if (rc) return lmdb::Error(rc, "blob cache", "cursor");
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
      if (k.mv_size != 8 + Id::kSize ||
          !referenced.count(DecodeBigEndian64(static_cast<const uint8_t*>(k.mv_data))))
        mdb_cursor_del(cur, 0);
    }
    mdb_cursor_close(cur);
    rc = txn.Commit();
    if (rc) return lmdb::Error(rc, "blob cache", "commit");
  }
  // 3. Slab files no entry references (a crash before their entries were
  // committed) are deleted.
  for (auto it = slabs_.begin(); it != slabs_.end();) {
    if (referenced.count(it->first)) {
      used_ += it->second.size;
      ++it;
      continue;
    }
    (void)files_.Unlink(SlabPath(it->first));
    it = slabs_.erase(it);
  }
  // 4. A smaller limit than last time: shrink now.
  std::vector<uint64_t> evicted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    MakeRoomLocked(0, evicted);
  }
  DropSlabEntries(evicted);
  return Status::OK();
}

std::optional<BlobCache::Entry> BlobCache::Find(const Id& blob) const {
  Txn txn(env_, false);
  if (txn.rc()) return std::nullopt;
  MDB_val k = Val(blob.view()), v;
  if (mdb_get(txn.get(), blobs_, &k, &v) != 0 || v.mv_size != kEntrySize) return std::nullopt;
  const auto* p = static_cast<const uint8_t*>(v.mv_data);
  return Entry{DecodeFixed64(p), DecodeFixed64(p + 8), DecodeFixed64(p + 16)};
}

void BlobCache::EvictLocked(uint64_t slab, std::vector<uint64_t>& evicted) {
  auto s = slabs_.find(slab);
  (void)files_.Unlink(SlabPath(slab));  // before its bytes are released
  used_ -= s->second.size;
  slabs_.erase(s);
  if (active_ == slab) active_ = 0;
  evicted.push_back(slab);
}

bool BlobCache::MakeRoomLocked(uint64_t need, std::vector<uint64_t>& evicted) {
  if (need > limit_) return false;
  while (used_ + need > limit_) {
    auto victim = slabs_.end();
    for (auto it = slabs_.begin(); it != slabs_.end(); ++it) {
      if (it->second.pending == 0 && (victim == slabs_.end() || it->second.tick < victim->second.tick))
        victim = it;
    }
    if (victim == slabs_.end()) return false;  // every slab is being written
    EvictLocked(victim->first, evicted);
  }
  return true;
}

void BlobCache::DropSlabEntries(const std::vector<uint64_t>& slabs) {
  if (slabs.empty()) return;
  Txn txn(env_, true);
  if (txn.rc()) return Warn(LmdbMessage(txn.rc(), "begin"));
  MDB_cursor* cur;
  int rc = mdb_cursor_open(txn.get(), members_, &cur);
  if (rc) return Warn(LmdbMessage(rc, "cursor"));
  for (uint64_t slab : slabs) {
    uint8_t prefix[8];
    EncodeBigEndian64(slab, prefix);
    for (;;) {
      // Seek again after each delete rather than trust the cursor's
      // position past a deleted last item.
      MDB_val k{8, prefix}, v;
      rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
      if (rc != 0 || k.mv_size != 8 + Id::kSize || std::memcmp(k.mv_data, prefix, 8) != 0) break;
      MDB_val id{Id::kSize, static_cast<uint8_t*>(k.mv_data) + 8}, e;
      // Only if the blob still lives in this slab (it may have been stored
      // again elsewhere after a Remove).
      if (mdb_get(txn.get(), blobs_, &id, &e) == 0 && e.mv_size == kEntrySize &&
          DecodeFixed64(static_cast<const uint8_t*>(e.mv_data)) == slab) {
        mdb_del(txn.get(), blobs_, &id, nullptr);
      }
      if (mdb_cursor_del(cur, 0) != 0) break;
    }
    MDB_val sk{8, prefix};
    mdb_del(txn.get(), slabs_dbi_, &sk, nullptr);
  }
  mdb_cursor_close(cur);
  rc = txn.Commit();
  if (rc) Warn(LmdbMessage(rc, "drop evicted entries"));
}

void BlobCache::DropEntry(const Id& blob, const Entry& e) {
  Txn txn(env_, true);
  if (txn.rc()) return Warn(LmdbMessage(txn.rc(), "begin"));
  MDB_val k = Val(blob.view()), v;
  if (mdb_get(txn.get(), blobs_, &k, &v) == 0 && v.mv_size == kEntrySize &&
      DecodeFixed64(static_cast<const uint8_t*>(v.mv_data)) == e.slab) {
    mdb_del(txn.get(), blobs_, &k, nullptr);
  }
  uint8_t member[8 + Id::kSize];
  EncodeBigEndian64(e.slab, member);
  std::memcpy(member + 8, blob.bytes.data(), Id::kSize);
  MDB_val mk{sizeof(member), member};
  mdb_del(txn.get(), members_, &mk, nullptr);
  int rc = txn.Commit();
  if (rc) Warn(LmdbMessage(rc, "drop entry"));
}

std::optional<Bytes> BlobCache::Get(const Id& blob) {
  auto e = Find(blob);
  if (!e) return std::nullopt;
  bool flush = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto s = slabs_.find(e->slab);
    if (s == slabs_.end()) return std::nullopt;  // evicted; its entries are being dropped
    s->second.tick = ++tick_;
    s->second.dirty = true;
    flush = ++gets_since_flush_ >= kFlushEvery;
    if (flush) gets_since_flush_ = 0;
  }
  if (flush) FlushTicks();
  std::string why;
  auto data = ReadRange(files_, SlabPath(e->slab), e->offset, e->size, why);
  if (data) return data;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!slabs_.count(e->slab)) return std::nullopt;  // evicted meanwhile: a plain miss
  }
  Warn("blob " + blob.Short() + ": " + why + "; dropped from the cache");
  DropEntry(blob, *e);
  return std::nullopt;
}

void BlobCache::Put(const Id& blob, ByteView stored) {
  const uint64_t size = stored.size();
  if (size > limit_ || Find(blob)) return;
  std::vector<uint64_t> evicted;
  uint64_t slab = 0, offset = 0, tick = 0;
  bool fresh = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!MakeRoomLocked(size, evicted)) {
      slab = 0;
    } else {
      auto a = slabs_.find(active_);
      if (active_ == 0 || a == slabs_.end() ||
          (a->second.size > 0 && a->second.size + size > slab_bytes_)) {
        active_ = next_slab_++;
        a = slabs_.emplace(active_, Slab{}).first;
        fresh = true;
      }
      Slab& s = a->second;
      slab = active_;
      offset = s.size;
      s.size += size;  // reserved before it is written
      used_ += size;
      ++s.pending;
      tick = s.tick = ++tick_;
      s.dirty = !fresh;  // a fresh slab's record is written with its first entry
    }
  }
  DropSlabEntries(evicted);
  if (slab == 0) return;  // no room: every slab is being written
  Status st = WriteRange(files_, SlabPath(slab), offset, stored);
  if (st.ok()) {
    Txn txn(env_, true);
    int rc = txn.rc();
    uint8_t entry[kEntrySize], member[8 + Id::kSize], tickv[8];
    EncodeFixed64(slab, entry);
    EncodeFixed64(offset, entry + 8);
    EncodeFixed64(size, entry + 16);
    EncodeBigEndian64(slab, member);
    std::memcpy(member + 8, blob.bytes.data(), Id::kSize);
    EncodeFixed64(tick, tickv);
    MDB_val k = Val(blob.view()), v{kEntrySize, entry};
    MDB_val mk{sizeof(member), member}, empty{0, nullptr};
    MDB_val sk{8, member}, sv{8, tickv};
    if (!rc) rc = mdb_put(txn.get(), blobs_, &k, &v, 0);
    if (!rc) rc = mdb_put(txn.get(), members_, &mk, &empty, 0);
    if (!rc && fresh) rc = mdb_put(txn.get(), slabs_dbi_, &sk, &sv, 0);
    if (!rc) rc = txn.Commit();
    if (rc) st = lmdb::Error(rc, "blob cache", "add entry");
  }
  if (!st.ok()) Warn("storing blob " + blob.Short() + ": " + st.message());
  std::lock_guard<std::mutex> lock(mu_);
  auto s = slabs_.find(slab);
  if (s != slabs_.end()) --s->second.pending;  // present: pending slabs are never evicted
}

bool BlobCache::Contains(const Id& blob) const {
  auto e = Find(blob);
  if (!e) return false;
  std::lock_guard<std::mutex> lock(mu_);
  return slabs_.count(e->slab) > 0;
}

std::optional<BlobCache::Location> BlobCache::Locate(const Id& blob) const {
  auto e = Find(blob);
  if (!e) return std::nullopt;
  return Location{SlabPath(e->slab), e->offset, e->size};
}

void BlobCache::Remove(const Id& blob) {
  if (auto e = Find(blob)) DropEntry(blob, *e);
}

uint64_t BlobCache::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return used_;
}

size_t BlobCache::count() const {
  Txn txn(env_, false);
  MDB_stat st;
  if (txn.rc() || mdb_stat(txn.get(), blobs_, &st) != 0) return 0;
  return st.ms_entries;
}

void BlobCache::FlushTicks() {
  std::lock_guard<std::mutex> flush_lock(flush_mu_);
  std::vector<std::pair<uint64_t, uint64_t>> batch;  // slab, tick
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [n, s] : slabs_) {
      if (!s.dirty) continue;
      s.dirty = false;
      batch.emplace_back(n, s.tick);
    }
  }
  if (batch.empty()) return;
  // A slab evicted after the snapshot above may get its record back here;
  // Open drops records of slabs that are gone.
  Txn txn(env_, true);
  if (txn.rc()) return Warn(LmdbMessage(txn.rc(), "begin"));
  for (const auto& [n, tick] : batch) {
    uint8_t key[8], val[8];
    EncodeBigEndian64(n, key);
    EncodeFixed64(tick, val);
    MDB_val k{8, key}, v{8, val};
    int rc = mdb_put(txn.get(), slabs_dbi_, &k, &v, 0);
    if (rc) return Warn(LmdbMessage(rc, "update ticks"));
  }
  int rc = txn.Commit();
  if (rc) Warn(LmdbMessage(rc, "commit ticks"));
}

}  // namespace cairn
