#include "cache/blob_cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <lmdb.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/coding.h"

namespace cairn {
namespace {

constexpr size_t kEntrySize = 16;      // size fixed64 | tick fixed64
constexpr size_t kFlushEvery = 256;    // Gets between tick write-backs
constexpr const char* kTmpSuffix = ".tmp";

std::string LmdbMessage(int rc, std::string_view what) {
  return "blob cache: " + std::string(what) + ": " + mdb_strerror(rc);
}

MDB_val Val(ByteView b) { return MDB_val{b.size(), const_cast<uint8_t*>(b.data())}; }

void EncodeEntry(uint64_t size, uint64_t tick, uint8_t* out) {
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<uint8_t>(size >> (8 * i));
    out[8 + i] = static_cast<uint8_t>(tick >> (8 * i));
  }
}

// RAII LMDB transaction.
class Txn {
 public:
  Txn(MDB_env* env, bool write) {
    rc_ = mdb_txn_begin(env, nullptr, write ? 0 : MDB_RDONLY, &txn_);
    if (rc_) txn_ = nullptr;
  }
  ~Txn() {
    if (txn_) mdb_txn_abort(txn_);
  }
  int rc() const { return rc_; }
  MDB_txn* get() const { return txn_; }
  int Commit() {
    int rc = mdb_txn_commit(txn_);
    txn_ = nullptr;
    return rc;
  }

 private:
  MDB_txn* txn_ = nullptr;
  int rc_ = 0;
};

// Reads a whole file whose size must be `size`. Empty on any failure, with
// why set.
std::optional<Bytes> ReadWhole(const std::string& path, uint64_t size, std::string& why) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    why = std::strerror(errno);
    return std::nullopt;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) != size) {
    why = "size " + std::to_string(st.st_size) + " instead of " + std::to_string(size) +
          " (truncated)";
    ::close(fd);
    return std::nullopt;
  }
  Bytes out;
  out.resize(size);
  size_t done = 0;
  while (done < size) {
    ssize_t r = ::pread(fd, out.data() + done, size - done, static_cast<off_t>(done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      why = r < 0 ? std::strerror(errno) : "short read";
      ::close(fd);
      return std::nullopt;
    }
    done += static_cast<size_t>(r);
  }
  ::close(fd);
  return out;
}

Status WriteWhole(const std::string& path, ByteView data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError(path + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t w = ::write(fd, data.data() + done, data.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      Status s = Status::IOError(path + ": " + std::strerror(errno));
      ::close(fd);
      ::unlink(path.c_str());
      return s;
    }
    done += static_cast<size_t>(w);
  }
  if (::close(fd) != 0) {
    Status s = Status::IOError(path + ": " + std::strerror(errno));
    ::unlink(path.c_str());
    return s;
  }
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<BlobCache>> BlobCache::Open(const std::string& dir, uint64_t limit_bytes,
                                                   Logger* logger) {
  const std::string index = dir + "/index";
  std::error_code ec;
  std::filesystem::create_directories(index, ec);
  if (ec) {
    return Err(Status::IOError("blob cache: cannot create " + index + ": " + ec.message() +
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
  mdb_env_set_maxdbs(env, 2);
  mdb_env_set_mapsize(env, uint64_t{1} << 32);  // 48-byte entries: room for millions
  mdb_env_set_maxreaders(env, 256);
  // NOSYNC: everything here can be rebuilt; Load reconciles index and files.
  rc = mdb_env_open(env, index.c_str(), MDB_NOTLS | MDB_NOSYNC | MDB_NOMETASYNC, 0600);
  if (rc) {
    mdb_env_close(env);
    ::close(lock_fd);
    return Err(Status::IOError(LmdbMessage(rc, "open " + index) +
                               " (remove the directory to start an empty cache)"));
  }
  MDB_dbi dbi;
  {
    Txn txn(env, true);
    rc = txn.rc() ? txn.rc() : mdb_dbi_open(txn.get(), "entries", MDB_CREATE, &dbi);
    if (!rc) rc = txn.Commit();
    if (rc) {
      mdb_env_close(env);
      ::close(lock_fd);
      return Err(Status::IOError(LmdbMessage(rc, "open table in " + index)));
    }
  }
  std::unique_ptr<BlobCache> cache(new BlobCache(dir, limit_bytes, logger, lock_fd, env, dbi));
  CAIRN_RETURN_IF_ERROR(cache->Load());
  return cache;
}

BlobCache::BlobCache(std::string dir, uint64_t limit, Logger* logger, int lock_fd, MDB_env* env,
                     unsigned dbi)
    : dir_(std::move(dir)),
      limit_(limit),
      logger_(logger ? logger : &null_logger_),
      lock_fd_(lock_fd),
      env_(env),
      dbi_(dbi) {}

BlobCache::~BlobCache() {
  FlushTicks();
  mdb_env_close(env_);
  ::close(lock_fd_);  // releases the flock
}

std::string BlobCache::PathOf(const Id& id) const {
  std::string hex = id.Hex();
  return dir_ + "/" + hex.substr(0, 2) + "/" + hex;
}

void BlobCache::Warn(const std::string& msg) const { logger_->Warn("blob cache {}: {}", dir_, msg); }

Status BlobCache::Load() {
  // 1. The index.
  std::vector<std::pair<uint64_t, Id>> by_tick;
  {
    Txn txn(env_, false);
    if (txn.rc()) return Status::IOError(LmdbMessage(txn.rc(), "begin"));
    MDB_cursor* cur;
    int rc = mdb_cursor_open(txn.get(), dbi_, &cur);
    if (rc) return Status::IOError(LmdbMessage(rc, "cursor"));
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
      if (k.mv_size != Id::kSize || v.mv_size != kEntrySize) continue;  // dropped below
      const auto* p = static_cast<const uint8_t*>(v.mv_data);
      Id id = Id::FromView(ByteView(static_cast<const uint8_t*>(k.mv_data), Id::kSize));
      Entry e;
      e.size = DecodeFixed64(p);
      e.tick = DecodeFixed64(p + 8);
      e.ready = true;
      entries_.emplace(id, e);
      by_tick.emplace_back(e.tick, id);
    }
    mdb_cursor_close(cur);
  }
  // 2. The files: orphans and leftovers of interrupted Puts go; entries
  // whose file is missing or has the wrong size go.
  std::unordered_map<Id, bool, IdHash> seen;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir_, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const std::string sub = it->path().filename().string();
    if (sub.size() != 2 || !it->is_directory()) continue;
    std::error_code ec2;
    for (auto f = std::filesystem::directory_iterator(it->path(), ec2);
         !ec2 && f != std::filesystem::directory_iterator(); f.increment(ec2)) {
      const std::string name = f->path().filename().string();
      auto id = name.size() == 2 * Id::kSize ? Id::FromHex(name) : std::nullopt;
      auto e = id ? entries_.find(*id) : entries_.end();
      std::error_code ec3;
      uint64_t size = f->file_size(ec3);
      if (e == entries_.end() || ec3 || size != e->second.size) {
        std::filesystem::remove(f->path(), ec3);
        continue;
      }
      seen[*id] = true;
    }
  }
  std::vector<Id> gone;
  for (const auto& [id, e] : entries_) {
    if (!seen.count(id)) gone.push_back(id);
  }
  for (const Id& id : gone) {
    entries_.erase(id);
    (void)DeleteEntry(id);
  }
  // 3. LRU order and the charge.
  std::sort(by_tick.begin(), by_tick.end());
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [tick, id] : by_tick) {
    auto e = entries_.find(id);
    if (e == entries_.end()) continue;
    e->second.lru = lru_.insert(lru_.end(), id);
    used_ += Charge(e->second.size);
    tick_ = std::max(tick_, tick);
  }
  // A smaller limit than last time: shrink now.
  MakeRoomLocked(0);
  return Status::OK();
}

Status BlobCache::PutEntry(const Id& id, uint64_t size, uint64_t tick) {
  Txn txn(env_, true);
  if (txn.rc()) return Status::IOError(LmdbMessage(txn.rc(), "begin"));
  uint8_t buf[kEntrySize];
  EncodeEntry(size, tick, buf);
  MDB_val k = Val(id.view()), v{kEntrySize, buf};
  int rc = mdb_put(txn.get(), dbi_, &k, &v, 0);
  if (!rc) rc = txn.Commit();
  return rc ? Status::IOError(LmdbMessage(rc, "add entry")) : Status::OK();
}

Status BlobCache::DeleteEntry(const Id& id) {
  Txn txn(env_, true);
  if (txn.rc()) return Status::IOError(LmdbMessage(txn.rc(), "begin"));
  MDB_val k = Val(id.view());
  int rc = mdb_del(txn.get(), dbi_, &k, nullptr);
  if (rc == MDB_NOTFOUND) return Status::OK();
  if (!rc) rc = txn.Commit();
  return rc ? Status::IOError(LmdbMessage(rc, "delete entry")) : Status::OK();
}

void BlobCache::EraseLocked(const Id& id, bool unlink_file) {
  auto e = entries_.find(id);
  if (e == entries_.end()) return;
  if (unlink_file) ::unlink(PathOf(id).c_str());
  if (e->second.ready) lru_.erase(e->second.lru);
  used_ -= Charge(e->second.size);
  entries_.erase(e);
  Status s = DeleteEntry(id);
  if (!s.ok()) Warn(s.message());
}

bool BlobCache::MakeRoomLocked(uint64_t need) {
  if (need > limit_) return false;
  while (used_ + need > limit_ && !lru_.empty()) {
    EraseLocked(lru_.front(), /*unlink_file=*/true);  // unlinked before its bytes are freed
  }
  return used_ + need <= limit_;
}

std::optional<Bytes> BlobCache::Get(const Id& blob) {
  uint64_t size;
  bool flush = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto e = entries_.find(blob);
    if (e == entries_.end() || !e->second.ready) return std::nullopt;
    size = e->second.size;
    e->second.tick = ++tick_;
    lru_.splice(lru_.end(), lru_, e->second.lru);
    dirty_.push_back(blob);
    flush = dirty_.size() >= kFlushEvery;
  }
  if (flush) FlushTicks();
  std::string why;
  auto data = ReadWhole(PathOf(blob), size, why);
  if (data) return data;
  std::lock_guard<std::mutex> lock(mu_);
  auto e = entries_.find(blob);
  if (e != entries_.end() && e->second.ready) {  // not evicted meanwhile: really damaged
    Warn("blob " + blob.Short() + ": " + why + "; dropped from the cache");
    EraseLocked(blob, /*unlink_file=*/true);
  }
  return std::nullopt;
}

void BlobCache::Put(const Id& blob, ByteView stored) {
  const uint64_t charge = Charge(stored.size());
  uint64_t tick;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (entries_.count(blob) || !MakeRoomLocked(charge)) return;
    tick = ++tick_;
    Entry e;
    e.size = stored.size();
    e.tick = tick;
    entries_.emplace(blob, e);
    used_ += charge;  // reserved before the file exists
    // The entry is committed before the file is written: a crash leaves an
    // entry without a file (dropped at Open), never an uncounted file.
    Status s = PutEntry(blob, stored.size(), tick);
    if (!s.ok()) {
      Warn(s.message());
      used_ -= charge;
      entries_.erase(blob);
      return;
    }
  }
  const std::string path = PathOf(blob);
  const std::string tmp = path + "." + std::to_string(::getpid()) + "-" +
                          std::to_string(serial_.fetch_add(1)) + kTmpSuffix;
  ::mkdir(path.substr(0, dir_.size() + 3).c_str(), 0700);  // dir/xx; EEXIST is fine
  Status s = WriteWhole(tmp, stored);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    s = Status::IOError("renaming " + tmp + ": " + std::strerror(errno));
    ::unlink(tmp.c_str());
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto e = entries_.find(blob);
  if (e == entries_.end()) return;  // cannot happen: unready entries are never erased
  if (!s.ok()) {
    Warn("storing blob " + blob.Short() + ": " + s.message());
    EraseLocked(blob, /*unlink_file=*/false);
    return;
  }
  e->second.ready = true;
  e->second.lru = lru_.insert(lru_.end(), blob);
}

bool BlobCache::Contains(const Id& blob) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto e = entries_.find(blob);
  return e != entries_.end() && e->second.ready;
}

void BlobCache::Remove(const Id& blob) {
  std::lock_guard<std::mutex> lock(mu_);
  auto e = entries_.find(blob);
  if (e != entries_.end() && e->second.ready) EraseLocked(blob, /*unlink_file=*/true);
}

uint64_t BlobCache::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return used_;
}

size_t BlobCache::count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

void BlobCache::FlushTicks() {
  std::lock_guard<std::mutex> flush_lock(flush_mu_);
  std::vector<std::pair<Id, Entry>> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::sort(dirty_.begin(), dirty_.end());
    dirty_.erase(std::unique(dirty_.begin(), dirty_.end()), dirty_.end());
    for (const Id& id : dirty_) {
      auto e = entries_.find(id);
      if (e != entries_.end() && e->second.ready) batch.emplace_back(id, e->second);
    }
    dirty_.clear();
  }
  if (batch.empty()) return;
  // An entry evicted after the snapshot above may be written back here; Open
  // drops entries without a file, so that costs nothing.
  Txn txn(env_, true);
  if (txn.rc()) return Warn(LmdbMessage(txn.rc(), "begin"));
  uint8_t buf[kEntrySize];
  for (const auto& [id, e] : batch) {
    EncodeEntry(e.size, e.tick, buf);
    MDB_val k = Val(id.view()), v{kEntrySize, buf};
    int rc = mdb_put(txn.get(), dbi_, &k, &v, 0);
    if (rc) return Warn(LmdbMessage(rc, "update ticks"));
  }
  int rc = txn.Commit();
  if (rc) Warn(LmdbMessage(rc, "commit ticks"));
}

}  // namespace cairn
