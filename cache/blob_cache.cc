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

void Fixed64At(uint64_t v, uint8_t* out) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
}
// Slab numbers as keys sort numerically in big-endian.
void BigEndian64(uint64_t v, uint8_t* out) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
}
uint64_t FromBigEndian64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

// Reads exactly size bytes at offset; empty with why set otherwise.
std::optional<Bytes> ReadRange(const std::string& path, uint64_t offset, uint64_t size,
                               std::string& why, bool& missing) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    missing = errno == ENOENT;
    why = std::strerror(errno);
    return std::nullopt;
  }
  Bytes out;
  out.resize(size);
  size_t done = 0;
  while (done < size) {
    ssize_t r = ::pread(fd, out.data() + done, size - done, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      why = r < 0 ? std::string(std::strerror(errno))
                  : "slab truncated (" + std::to_string(offset + done) + " bytes, the blob ends at " +
                        std::to_string(offset + size) + ")";
      ::close(fd);
      return std::nullopt;
    }
    done += static_cast<size_t>(r);
  }
  ::close(fd);
  return out;
}

Status WriteRange(const std::string& path, uint64_t offset, ByteView data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError(path + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t w = ::pwrite(fd, data.data() + done, data.size() - done,
                         static_cast<off_t>(offset + done));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      Status s = Status::IOError(path + ": " + std::strerror(errno));
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(w);
  }
  if (::close(fd) != 0) return Status::IOError(path + ": " + std::strerror(errno));
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<BlobCache>> BlobCache::Open(const std::string& dir, uint64_t limit_bytes,
                                                   Logger* logger) {
  const std::string index = dir + "/index";
  std::error_code ec;
  std::filesystem::create_directories(index, ec);
  if (!ec) std::filesystem::create_directories(dir + "/slabs", ec);
  if (ec) {
    return Err(Status::IOError("blob cache: cannot create " + dir + ": " + ec.message() +
                               " (use --cache-dir to pick another place)"));
  }
  const std::string lock_path = dir + "/lock";
  int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) {
    return Err(Status::IOError("blob cache: cannot open " + lock_path + ": " +
                               std::strerror(errno) + " (use --cache-dir to pick another place)"));
  }
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd);
    return Err(Status::Locked("blob cache " + dir + " is in use by another cairn process (another "
                              "mount of this repository?); stop it or use another --cache-dir"));
  }
  MDB_env* env = nullptr;
  int rc = mdb_env_create(&env);
  if (rc) {
    ::close(lock_fd);
    return Err(Status::IOError(LmdbMessage(rc, "create environment")));
  }
  mdb_env_set_maxdbs(env, 4);
  mdb_env_set_mapsize(env, uint64_t{1} << 34);  // ~100 bytes per blob: room for 100M+
  mdb_env_set_maxreaders(env, 256);
  // NOSYNC: everything here can be refetched; Load reconciles index and slabs.
  rc = mdb_env_open(env, index.c_str(), MDB_NOTLS | MDB_NOSYNC | MDB_NOMETASYNC, 0600);
  MDB_dbi dbis[3];
  if (!rc) {
    Txn txn(env, true);
    const char* names[3] = {"blobs", "members", "slabs"};
    rc = txn.rc();
    for (int i = 0; i < 3 && !rc; ++i) rc = mdb_dbi_open(txn.get(), names[i], MDB_CREATE, &dbis[i]);
    if (!rc) rc = txn.Commit();
  }
  if (rc) {
    mdb_env_close(env);
    ::close(lock_fd);
    return Err(Status::IOError(LmdbMessage(rc, "open " + index) +
                               " (remove the directory to start an empty cache)"));
  }
  std::unique_ptr<BlobCache> cache(
      new BlobCache(dir, limit_bytes, logger, lock_fd, env, dbis[0], dbis[1], dbis[2]));
  CAIRN_RETURN_IF_ERROR(cache->Load());
  return cache;
}

BlobCache::BlobCache(std::string dir, uint64_t limit, Logger* logger, int lock_fd, MDB_env* env,
                     unsigned blobs, unsigned members, unsigned slabs)
    : dir_(std::move(dir)),
      limit_(limit),
      slab_bytes_(std::clamp<uint64_t>(limit / 16, kMinSlab, kMaxSlab)),
      logger_(logger ? logger : &null_logger_),
      lock_fd_(lock_fd),
      env_(env),
      blobs_(blobs),
      members_(members),
      slabs_dbi_(slabs) {}

BlobCache::~BlobCache() {
  FlushTicks();
  mdb_env_close(env_);
  ::close(lock_fd_);  // releases the flock
}

std::string BlobCache::SlabPath(uint64_t slab) const {
  uint8_t be[8];
  BigEndian64(slab, be);
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
    uint64_t n = FromBigEndian64(raw->data());
    slabs_[n].size = size;
    next_slab_ = std::max(next_slab_, n + 1);
  }
  // 2. The index: entries whose slab is gone or too short are dropped.
  std::set<uint64_t> referenced;
  {
    Txn txn(env_, true);
    if (txn.rc()) return Status::IOError(LmdbMessage(txn.rc(), "begin"));
    MDB_cursor* cur;
    int rc = mdb_cursor_open(txn.get(), blobs_, &cur);
    if (rc) return Status::IOError(LmdbMessage(rc, "cursor"));
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
    if (rc) return Status::IOError(LmdbMessage(rc, "cursor"));
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
      auto s = k.mv_size == 8 && v.mv_size == 8
                   ? slabs_.find(FromBigEndian64(static_cast<const uint8_t*>(k.mv_data)))
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
    if (rc) return Status::IOError(LmdbMessage(rc, "cursor"));
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
      if (k.mv_size != 8 + Id::kSize ||
          !referenced.count(FromBigEndian64(static_cast<const uint8_t*>(k.mv_data))))
        mdb_cursor_del(cur, 0);
    }
    mdb_cursor_close(cur);
    rc = txn.Commit();
    if (rc) return Status::IOError(LmdbMessage(rc, "commit"));
  }
  // 3. Slab files no entry references (a crash before their entries were
  // committed) are deleted.
  for (auto it = slabs_.begin(); it != slabs_.end();) {
    if (referenced.count(it->first)) {
      used_ += it->second.size;
      ++it;
      continue;
    }
    ::unlink(SlabPath(it->first).c_str());
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
  ::unlink(SlabPath(slab).c_str());  // before its bytes are released
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
    BigEndian64(slab, prefix);
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
  BigEndian64(e.slab, member);
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
  bool missing = false;
  auto data = ReadRange(SlabPath(e->slab), e->offset, e->size, why, missing);
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
  Status st = WriteRange(SlabPath(slab), offset, stored);
  if (st.ok()) {
    Txn txn(env_, true);
    int rc = txn.rc();
    uint8_t entry[kEntrySize], member[8 + Id::kSize], tickv[8];
    Fixed64At(slab, entry);
    Fixed64At(offset, entry + 8);
    Fixed64At(size, entry + 16);
    BigEndian64(slab, member);
    std::memcpy(member + 8, blob.bytes.data(), Id::kSize);
    Fixed64At(tick, tickv);
    MDB_val k = Val(blob.view()), v{kEntrySize, entry};
    MDB_val mk{sizeof(member), member}, empty{0, nullptr};
    MDB_val sk{8, member}, sv{8, tickv};
    if (!rc) rc = mdb_put(txn.get(), blobs_, &k, &v, 0);
    if (!rc) rc = mdb_put(txn.get(), members_, &mk, &empty, 0);
    if (!rc && fresh) rc = mdb_put(txn.get(), slabs_dbi_, &sk, &sv, 0);
    if (!rc) rc = txn.Commit();
    if (rc) st = Status::IOError(LmdbMessage(rc, "add entry"));
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
    BigEndian64(n, key);
    Fixed64At(tick, val);
    MDB_val k{8, key}, v{8, val};
    int rc = mdb_put(txn.get(), slabs_dbi_, &k, &v, 0);
    if (rc) return Warn(LmdbMessage(rc, "update ticks"));
  }
  int rc = txn.Commit();
  if (rc) Warn(LmdbMessage(rc, "commit ticks"));
}

}  // namespace cairn
