// Repository: an opened cairn repository — config, master keys, the store and
// the local cache — and the primitive reads and writes every engine uses.
// Engines (backup, restore, check) live in their own files and only use this.
//
// Thread safety: every method may be called concurrently, except that the
// BlobCodec passed in must be the caller's own (one per thread).
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backend/object_store.h"
#include "cache/cache_db.h"
#include "common/local_files.h"
#include "common/log.h"
#include "common/status.h"
#include "repo/blob_codec.h"
#include "repo/chunker.h"
#include "repo/config.h"
#include "repo/crypto.h"
#include "repo/keys.h"
#include "repo/snapshot.h"
#include "repo/tree.h"

namespace cairn {

struct InitOptions {
  ChunkerParams chunker;
  int zstd_level = 3;
  uint32_t pack_size = 16 * 1024 * 1024;
  ScryptParams kdf;
  // Object lock defaults (RepoConfig). With a lock, Init refuses a store
  // whose GetObjectLockConfig() is not enabled (Unsupported), and the key
  // file and config are locked themselves.
  LockMode lock_mode = LockMode::kNone;
  int64_t lock_retention_s = 0;
  std::string data_storage_class;
};

struct OpenOptions {
  std::string cache_dir;  // empty: DefaultCacheDir(repo id)
  Logger* logger = nullptr;
  // The local files the repository's engines write in the cache directory
  // (BlobSaver's pack journal); null: LocalFiles::Posix(). Must outlive the
  // Repository.
  LocalFiles* files = nullptr;
};

// NotARepository for a location without a config object, naming it and the
// fix; the one wording of that message (Open, and commands that check before
// they ask for a password).
Status NoRepositoryAt(std::string_view where);
// Unsupported for a store that cannot lock objects when a lock was asked
// for, with the reason and the fix; the one wording of that message.
Status NoObjectLockAt(std::string_view where);

// Object kinds besides packs, with the aad that binds their encryption.
enum class ObjectKind { kIndex, kSnapshot };

class Repository {
 public:
  // Creates a repository in an empty location. AlreadyExists when the
  // location already holds a config.
  static Result<std::unique_ptr<Repository>> Init(std::unique_ptr<ObjectStore> store,
                                                  std::string_view password,
                                                  const InitOptions& init,
                                                  const OpenOptions& open);
  // NotARepository when there is no config; Unsupported for a newer format;
  // WrongPassword when no key file opens with password.
  static Result<std::unique_ptr<Repository>> Open(std::unique_ptr<ObjectStore> store,
                                                  std::string_view password,
                                                  const OpenOptions& open);
  ~Repository();

  const RepoConfig& config() const { return config_; }
  const Crypto& crypto() const { return *crypto_; }
  const Chunker& chunker() const { return chunker_; }
  ObjectStore& store() const { return *store_; }
  CacheDb& cache() const { return *cache_; }
  Logger& logger() const { return *logger_; }
  LocalFiles& files() const { return *files_; }
  std::unique_ptr<BlobCodec> NewCodec() const;

  // --- index ---
  // Loads index segments not yet in the cache (and rebuilds the cache's
  // index when a segment it holds was removed from the store). Up to 8
  // segments at once, at most kIndexBytesInFlight stored bytes of them
  // (a larger segment loads alone): memory is about 1.2x the stored size of
  // the segments in flight (more for one that zstd shrank), not ~150 bytes
  // per blob as a fully decoded segment would cost.
  static constexpr uint64_t kIndexBytesInFlight = 64ull << 20;
  Status SyncIndex();
  std::optional<BlobLocation> FindBlob(const Id& id) const { return cache_->FindBlob(id); }
  // Adds a segment this process wrote, so it is not downloaded again.
  Status CacheSegment(const Id& segment_id, const struct IndexSegment& seg);

  // --- blobs ---
  // Reads, authenticates and decompresses a blob. NotFound when the index
  // does not know it; errors name the blob and its pack.
  Result<Bytes> LoadBlob(BlobType type, const Id& id, BlobCodec& codec) const;
  // Stored bytes [offset, offset + length) of loc's pack, which must hold
  // the blob (id, loc): errors name the blob and its pack (missing pack,
  // or one too short to hold the blob: truncated). May end before
  // offset + length past the blob (at the end of the pack).
  Result<Bytes> GetPackRange(BlobType type, const Id& id, const BlobLocation& loc,
                             uint64_t offset, uint64_t length) const;
  // Decodes a blob whose stored bytes the caller fetched itself.
  Status DecodeBlob(BlobType type, const Id& id, const BlobLocation& loc, ByteView stored,
                    BlobCodec& codec, Bytes& out) const;
  TreeLoadFn TreeLoader(BlobCodec& codec) const;

  // --- objects (index segments, snapshots) ---
  Result<Id> SaveObject(ObjectKind kind, ByteView plaintext, BlobCodec& codec);
  // Verifies the storage id (SHA-256) before decrypting.
  Result<Bytes> LoadObject(ObjectKind kind, const Id& id, BlobCodec& codec) const;

  // --- snapshots ---
  // All snapshots, oldest first (synchronised with the store's listing).
  Result<std::vector<Snapshot>> ListSnapshots();
  // Stores s; with object lock the stored record's retain_until is
  // SnapshotRetainUntil(s.time_ns) unless s sets one.
  Result<Id> SaveSnapshot(const Snapshot& s, BlobCodec& codec);
  // ref: "latest" or a hex id prefix (at least 4 digits). series filters
  // "latest". NotFound or InvalidArgument (ambiguous prefix) otherwise.
  Result<Snapshot> FindSnapshot(const std::string& ref, const std::string& series = "");

  // --- object lock and storage classes ---
  // Whether objects written now are locked: the config asks for it and the
  // store can (Init checked the bucket; Open trusts the config on a store
  // whose traits have object_lock, and warns on one without).
  bool locks_objects() const { return can_lock_; }
  // The lock period of snapshots this process writes: the config's, or
  // what OverrideRetention set. 0 without a lock.
  int64_t retention_s() const { return retention_s_.load(); }
  // `backup --retention`: a period for this process's writes and snapshots
  // instead of the config's. InvalidArgument on a repository without object
  // lock or outside 1 s..100 years. Call before writing.
  Status OverrideRetention(int64_t seconds);
  // The retain-until recorded in a snapshot taken at time_ns: time_ns +
  // retention_s(), rounded up to the second; 0 without a lock.
  int64_t SnapshotRetainUntil(int64_t time_ns) const;
  // The PutOptions for writing an object of this kind now (WriteOptionsFor).
  PutOptions WriteOptions(WriteKind kind) const;

  // --- keys ---
  const Id& key_id() const { return key_id_; }
  Result<Id> AddKey(std::string_view password, const ScryptParams& kdf);

 private:
  Repository(std::unique_ptr<ObjectStore> store, RepoConfig config, MasterKeys keys, Id key_id,
             std::unique_ptr<CacheDb> cache, Logger* logger, LocalFiles* files);
  static Result<std::unique_ptr<Repository>> Finish(std::unique_ptr<ObjectStore> store,
                                                    RepoConfig config, MasterKeys keys, Id key_id,
                                                    const OpenOptions& open);
  Status LoadSegment(const Id& id, BlobCodec& codec);
  static WriteKind WriteKindOf(ObjectKind kind);

  std::unique_ptr<ObjectStore> store_;
  RepoConfig config_;
  std::unique_ptr<Crypto> crypto_;
  Chunker chunker_;
  Id key_id_;
  std::unique_ptr<CacheDb> cache_;
  NullLogger null_logger_;
  Logger* logger_;
  LocalFiles* files_;
  bool can_lock_ = false;            // set once, before the Repository is shared
  std::atomic<int64_t> retention_s_{0};  // the config's, or OverrideRetention's
};

std::string ObjectKindPrefix(ObjectKind kind);  // "index" / "snapshots"
std::string_view ObjectKindAad(ObjectKind kind);

}  // namespace cairn
