#include "repo/repository.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>
#include <mutex>
#include <set>
#include <unordered_set>

#include "common/byte_budget.h"
#include "common/clock.h"
#include "common/hex.h"
#include "common/thread_pool.h"
#include "repo/index.h"
#include "repo/pack.h"
#include "repo/pack_reads.h"

namespace cairn {

std::string ObjectKindPrefix(ObjectKind kind) {
  return kind == ObjectKind::kIndex ? "index" : "snapshots";
}

std::string_view ObjectKindAad(ObjectKind kind) {
  return kind == ObjectKind::kIndex ? "cairn.index" : "cairn.snapshot";
}

Repository::Repository(std::unique_ptr<ObjectStore> store, RepoConfig config, MasterKeys keys,
                       Id key_id, std::unique_ptr<CacheDb> cache, Logger* logger,
                       LocalFiles* files)
    : store_(std::move(store)),
      config_(std::move(config)),
      crypto_(std::make_unique<Crypto>(keys)),
      chunker_(config_.chunker, DeriveGearTable(keys.mac)),
      key_id_(key_id),
      cache_(std::move(cache)),
      logger_(logger ? logger : &null_logger_),
      files_(files ? files : &LocalFiles::Posix()) {}

Repository::~Repository() = default;

std::unique_ptr<BlobCodec> Repository::NewCodec() const {
  return std::make_unique<BlobCodec>(*crypto_, config_.zstd_level);
}

Result<std::unique_ptr<Repository>> Repository::Finish(std::unique_ptr<ObjectStore> store,
                                                       RepoConfig config, MasterKeys keys,
                                                       Id key_id, const OpenOptions& open) {
  std::string dir = open.cache_dir.empty() ? DefaultCacheDir(config.id)
                                           : open.cache_dir + "/" + config.id;
  CAIRN_ASSIGN_OR_RETURN(auto cache, CacheDb::Open(dir));
  const bool lock = config.lock_mode != LockMode::kNone;
  const bool can_lock = lock && store->Traits().object_lock;
  if (lock && !can_lock && open.logger != nullptr) {
    open.logger->Warn("the repository asks for object lock ({} for {}s), but {} cannot lock "
                      "objects: what is written here is not locked",
                      LockModeConfigName(config.lock_mode), config.lock_retention_s,
                      store->Describe());
  }
  auto repo = std::unique_ptr<Repository>(new Repository(std::move(store), std::move(config), keys,
                                                         key_id, std::move(cache), open.logger,
                                                         open.files));
  repo->can_lock_ = can_lock;
  repo->retention_s_ = repo->config_.lock_retention_s;
  return repo;
}

Status Repository::OverrideRetention(int64_t seconds) {
  if (config_.lock_mode == LockMode::kNone) {
    return Status::InvalidArgument(
        "--retention needs a repository with object lock, and " + store_->Describe() +
        " has none (create one with `cairn init --object-lock governance|compliance "
        "--retention PERIOD`)");
  }
  if (seconds <= 0 || seconds > kMaxRetentionS) {
    return Status::InvalidArgument("the retention period must be between 1 second and 100 years");
  }
  retention_s_ = seconds;
  return Status::OK();
}

int64_t Repository::SnapshotRetainUntil(int64_t time_ns) const {
  if (!can_lock_) return 0;
  return WriteOptionsFor(config_, true, WriteKind::kSnapshot, retention_s_.load(), time_ns)
      .retain_until_ns;
}

PutOptions Repository::WriteOptions(WriteKind kind) const {
  return WriteOptionsFor(config_, can_lock_, kind, retention_s_.load(), NowNs());
}

WriteKind Repository::WriteKindOf(ObjectKind kind) {
  return kind == ObjectKind::kIndex ? WriteKind::kIndex : WriteKind::kSnapshot;
}

Result<std::unique_ptr<Repository>> Repository::Init(std::unique_ptr<ObjectStore> store,
                                                     std::string_view password,
                                                     const InitOptions& init,
                                                     const OpenOptions& open) {
  const std::string where = store->Describe();
  auto existing = store->Head(kConfigKey);
  if (existing) {
    return Err(Status::AlreadyExists(where + " already holds a cairn repository; refusing to "
                                             "initialise it again"));
  }
  if (!existing.error().Is(ErrorCode::kNotFound)) return Err(existing.error());
  if (password.empty()) return Err(Status::InvalidArgument("an empty password is not allowed"));

  RepoConfig config;
  uint8_t rid[32];
  RandomBytes(rid);
  config.id = ToHex(rid);
  config.created_ns = NowNs();
  config.chunker = init.chunker;
  config.zstd_level = init.zstd_level;
  config.pack_size = init.pack_size;
  config.lock_mode = init.lock_mode;
  config.lock_retention_s = init.lock_retention_s;
  config.data_storage_class = init.data_storage_class;
  CAIRN_RETURN_IF_ERROR(ValidateConfig(config));
  if (config.lock_mode != LockMode::kNone) {
    CAIRN_ASSIGN_OR_RETURN(ObjectLockConfig bucket, store->GetObjectLockConfig());
    if (!bucket.enabled) return Err(NoObjectLockAt(where));
  }
  if (!config.data_storage_class.empty() && !store->Traits().storage_classes) {
    return Err(Status::InvalidArgument(where + " has no storage classes; --data-storage-class "
                                               "needs an S3 repository"));
  }
  MasterKeys keys = NewMasterKeys();
  CAIRN_ASSIGN_OR_RETURN(Bytes key_file, CreateKeyFile(keys, password, init.kdf));
  Id key_id = Sha256(key_file);
  // The key file and the config carry the lock like every other object
  // (kopia#3253 wrote them without one).
  const bool can_lock = config.lock_mode != LockMode::kNone;
  const int64_t now = NowNs();
  PutOptions key_once =
      WriteOptionsFor(config, can_lock, WriteKind::kKey, config.lock_retention_s, now);
  key_once.if_not_exists = true;
  CAIRN_RETURN_IF_ERROR(store->Put(KeyKey(key_id), key_file, key_once));
  // The config goes last: its presence is what makes the location a
  // repository, so a crash before it leaves a location init can reuse.
  PutOptions once =
      WriteOptionsFor(config, can_lock, WriteKind::kConfig, config.lock_retention_s, now);
  once.if_not_exists = true;
  Status s = store->Put(kConfigKey, EncodeConfig(config), once);
  if (s.Is(ErrorCode::kAlreadyExists)) {
    (void)store->Delete(KeyKey(key_id));
    return Err(Status::AlreadyExists(where + " already holds a cairn repository (created "
                                             "concurrently); refusing to initialise it again"));
  }
  CAIRN_RETURN_IF_ERROR(s);
  return Finish(std::move(store), std::move(config), keys, key_id, open);
}

Status NoObjectLockAt(std::string_view where) {
  return Status::Unsupported(
      std::string(where) +
      " cannot lock objects: --object-lock needs an S3 bucket with S3 Object Lock enabled, and "
      "this bucket has none (a local directory never has), so nothing there could protect the "
      "backups. Fix: give a bucket name that does not "
      "exist yet (`cairn init --object-lock` creates it with object lock), or enable object "
      "lock on the bucket (AWS: `aws s3api put-object-lock-configuration --bucket BUCKET "
      "--object-lock-configuration ObjectLockEnabled=Enabled` on a versioned bucket; radosgw "
      "and some other servers allow it only when the bucket is created)");
}

Status NoRepositoryAt(std::string_view where) {
  return Status::NotARepository("no cairn repository at " + std::string(where) +
                                " (no `config` object); create one with `cairn init`");
}

Result<std::unique_ptr<Repository>> Repository::Open(std::unique_ptr<ObjectStore> store,
                                                     std::string_view password,
                                                     const OpenOptions& open) {
  const std::string where = store->Describe();
  auto raw = store->Get(kConfigKey);
  if (!raw) {
    if (raw.error().Is(ErrorCode::kNotFound)) return Err(NoRepositoryAt(where));
    return Err(raw.error().WithContext(where + ": reading config"));
  }
  CAIRN_ASSIGN_OR_RETURN(RepoConfig config, DecodeConfig(*raw, where));

  std::vector<std::string> key_names;
  CAIRN_RETURN_IF_ERROR(store->List("keys/", [&](const ObjectInfo& info) {
    key_names.push_back(info.key);
    return Status::OK();
  }));
  if (key_names.empty()) {
    return Err(Status::Corruption(where + ": the repository has no key files (keys/ is empty)"));
  }
  std::sort(key_names.begin(), key_names.end());
  Status last;
  bool wrong_password = false;  // some key file was intact but did not open
  for (const auto& name : key_names) {
    auto file = store->Get(name);
    if (!file) {
      last = file.error();
      continue;
    }
    auto keys = OpenKeyFile(*file, password, name);
    if (keys) {
      return Finish(std::move(store), std::move(config), *keys, Sha256(*file), open);
    }
    last = keys.error();
    wrong_password |= last.Is(ErrorCode::kWrongPassword);
  }
  if (wrong_password) {
    return Err(Status::WrongPassword("wrong password for the repository at " + where +
                                     " (no key file opens with it; check CAIRN_PASSWORD, "
                                     "--password-file or --password-command)"));
  }
  return Err(last);
}

Result<Id> Repository::AddKey(std::string_view password, const ScryptParams& kdf) {
  if (password.empty()) return Err(Status::InvalidArgument("an empty password is not allowed"));
  CAIRN_ASSIGN_OR_RETURN(Bytes file, CreateKeyFile(crypto_->keys(), password, kdf));
  Id id = Sha256(file);
  PutOptions once = WriteOptions(WriteKind::kKey);
  once.if_not_exists = true;
  CAIRN_RETURN_IF_ERROR(store_->Put(KeyKey(id), file, once));
  return id;
}

// ---------------------------------------------------------------- objects

Result<Id> Repository::SaveObject(ObjectKind kind, ByteView plaintext, BlobCodec& codec) {
  Bytes stored;
  codec.EncodeObject(ObjectKindAad(kind), plaintext, stored);
  Id id = Sha256(stored);
  CAIRN_RETURN_IF_ERROR(
      store_->Put(ObjectKindPrefix(kind) + "/" + id.Hex(), stored, WriteOptions(WriteKindOf(kind))));
  return id;
}

Result<Bytes> Repository::LoadObject(ObjectKind kind, const Id& id, BlobCodec& codec) const {
  const std::string key = ObjectKindPrefix(kind) + "/" + id.Hex();
  auto stored = store_->Get(key);
  if (!stored) return Err(stored.error().WithContext(key));
  if (Sha256(*stored) != id) {
    return Err(Status::Corruption(key + ": checksum mismatch (stored object corrupted); run "
                                        "`cairn check`"));
  }
  // In place: an index segment may be tens of MiB, and the stored and the
  // plaintext copy together were most of a fresh mount's peak RSS.
  Bytes plain = std::move(*stored);
  Status s = codec.DecodeObjectInPlace(ObjectKindAad(kind), plain);
  if (!s.ok()) return Err(s.WithContext(key));
  return plain;
}

// ---------------------------------------------------------------- index

namespace {

std::vector<std::pair<Id, uint64_t>> SegmentPacks(const IndexSegmentView& view) {
  std::vector<std::pair<Id, uint64_t>> packs;
  packs.reserve(view.packs().size());
  for (const auto& p : view.packs()) packs.emplace_back(p.id, p.size);
  return packs;
}

// Byte order of two ids, the cache's key order. The first 8 bytes decide
// almost always (ids are HMACs): compared as one big-endian word, they keep
// the sort of a million-blob segment from spending half its time in memcmp.
bool IdLess(const uint8_t* a, const uint8_t* b) {
  uint64_t wa, wb;
  std::memcpy(&wa, a, 8);
  std::memcpy(&wb, b, 8);
  if (wa != wb) {
    if constexpr (std::endian::native == std::endian::little) {
      wa = __builtin_bswap64(wa);
      wb = __builtin_bswap64(wb);
    }
    return wa < wb;
  }
  return std::memcmp(a + 8, b + 8, Id::kSize - 8) < 0;
}

}  // namespace

Status Repository::CacheSegment(const Id& segment_id, const IndexSegment& seg) {
  // The blobs go to the cache in id order, through 8 bytes per blob (pack
  // and blob index) rather than a copy of every location.
  struct Ref {
    uint32_t pack, blob;
  };
  std::vector<Ref> order;
  std::vector<std::pair<Id, uint64_t>> packs;
  size_t count = 0;
  for (const auto& p : seg.packs) count += p.blobs.size();
  order.reserve(count);  // no doubling: a segment may hold 500,000 blobs
  packs.reserve(seg.packs.size());
  for (uint32_t pi = 0; pi < seg.packs.size(); ++pi) {
    const IndexPack& p = seg.packs[pi];
    packs.emplace_back(p.pack, p.pack_size);
    for (uint32_t bi = 0; bi < p.blobs.size(); ++bi) order.push_back({pi, bi});
  }
  auto blob = [&](Ref r) -> const PackEntry& { return seg.packs[r.pack].blobs[r.blob]; };
  std::sort(order.begin(), order.end(), [&](Ref x, Ref y) {
    return IdLess(blob(x).id.bytes.data(), blob(y).id.bytes.data());
  });
  return cache_->AddSegment(
      segment_id, order.size(),
      [&](size_t i) {
        const PackEntry& b = blob(order[i]);
        return CachedBlob{b.id, BlobLocation{seg.packs[order[i].pack].pack, b.offset, b.length,
                                             b.raw_length, static_cast<uint8_t>(b.type)}};
      },
      packs);
}

Status Repository::LoadSegment(const Id& id, BlobCodec& codec) {
  // Memory: the plaintext (decrypted in place, LoadObject) plus 8 bytes per
  // blob (the view's entry positions and the id order); entries are decoded
  // one at a time as the cache's write batches take them. Decoding the
  // whole segment first (IndexSegment, then a CachedBlob vector) cost ~150
  // bytes per blob and put a fresh mount of a million-file snapshot (one
  // 36 MB segment) at 182 MB peak RSS; this way it peaks at 70 MB.
  CAIRN_ASSIGN_OR_RETURN(Bytes plain, LoadObject(ObjectKind::kIndex, id, codec));
  auto view = IndexSegmentView::Parse(plain);
  if (!view) return view.error().WithContext("index/" + id.Hex());
  std::vector<uint32_t> order(view->blob_count());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<uint32_t>(i);
  std::sort(order.begin(), order.end(), [&](uint32_t x, uint32_t y) {
    return IdLess(view->blob_id(x).data(), view->blob_id(y).data());
  });
  const auto& vpacks = view->packs();
  return cache_->AddSegment(
      id, order.size(),
      [&](size_t i) {
        const PackEntry b = view->blob(order[i]);
        return CachedBlob{b.id, BlobLocation{vpacks[view->pack_of(order[i])].id, b.offset,
                                             b.length, b.raw_length, static_cast<uint8_t>(b.type)}};
      },
      SegmentPacks(*view));
}

Status Repository::SyncIndex() {
  std::vector<std::pair<Id, uint64_t>> listed;  // segment, stored size
  CAIRN_RETURN_IF_ERROR(store_->List("index/", [&](const ObjectInfo& info) {
    auto id = Id::FromHex(info.key.substr(6));
    if (id) listed.emplace_back(*id, info.size);
    return Status::OK();
  }));
  std::unordered_set<Id, IdHash> listed_set;
  for (const auto& [id, size] : listed) listed_set.insert(id);
  bool stale = false;
  CAIRN_RETURN_IF_ERROR(cache_->ForEachSegment([&](const Id& id) {
    if (!listed_set.count(id)) stale = true;
  }));
  if (stale) {
    logger_->Info("index segments were removed from the repository; rebuilding the cache index");
    CAIRN_RETURN_IF_ERROR(cache_->ClearIndex());
  }
  std::vector<std::pair<Id, uint64_t>> todo;
  for (const auto& seg : listed) {
    if (!cache_->HasSegment(seg.first)) todo.push_back(seg);
  }
  if (todo.empty()) return Status::OK();
  // Fetch and decode in parallel; each worker has its own codec. A worker
  // holds about its segment's stored size (index plaintext rarely
  // compresses: it is mostly random ids) plus 8 bytes per blob while it
  // loads it (LoadSegment), so the stored bytes in flight are bounded: small
  // segments load 8 at a time, large ones (a million-file backup writes
  // segments of ~40 MiB) one or two at a time, where 8 at once would hold
  // hundreds of MiB. Their inserts serialise on LMDB's writer lock anyway.
  ByteBudget budget(kIndexBytesInFlight);
  std::atomic<size_t> next{0};
  std::mutex mu;
  Status first;  // GUARDED_BY(mu)
  {
    ThreadPool pool(std::min<size_t>(todo.size(), 8));
    size_t nworkers = pool.size();
    for (size_t w = 0; w < nworkers; ++w) {
      pool.Submit([&] {
        auto codec = NewCodec();
        for (size_t i; (i = next.fetch_add(1)) < todo.size();) {
          ByteBudget::Hold hold(budget, todo[i].second);
          // Load every readable segment even when one fails, so check can
          // report the damage and still see the rest of the index.
          Status s = LoadSegment(todo[i].first, *codec);
          if (!s.ok()) {
            std::lock_guard<std::mutex> lock(mu);
            if (first.ok()) {
              first = s.Is(ErrorCode::kCorruption)
                          ? Status::Corruption(s.message() + "; `cairn index rebuild` rebuilds "
                                                             "the index from the packs")
                          : s;
            }
          }
        }
      });
    }
  }
  return first;
}

// ---------------------------------------------------------------- blobs

Status Repository::DecodeBlob(BlobType type, const Id& id, const BlobLocation& loc,
                              ByteView stored, BlobCodec& codec, Bytes& out) const {
  auto where = [&] {
    return std::string(BlobTypeName(type)) + " blob " + id.Short() + " in pack " +
           loc.pack.Short();
  };
  if (stored.size() != loc.length) {
    return Status::Corruption(where() + ": pack truncated (read " +
                              std::to_string(stored.size()) + " of " +
                              std::to_string(loc.length) + " bytes); run `cairn check`");
  }
  size_t before = out.size();
  Status s = codec.Decode(type, id, stored, out);
  if (!s.ok()) {
    return Status::Corruption(where() + ": " + s.message() + "; run `cairn check --read-data`");
  }
  if (out.size() - before != loc.raw_length) {
    out.resize(before);
    return Status::Corruption(where() + ": length differs from the index; run `cairn check`");
  }
  return Status::OK();
}

Result<Bytes> Repository::LoadBlob(BlobType type, const Id& id, BlobCodec& codec) const {
  auto loc = cache_->FindBlob(id);
  if (!loc) {
    return Err(Status::NotFound(std::string(BlobTypeName(type)) + " blob " + id.Short() +
                                " is not in the index; run `cairn check`"));
  }
  CAIRN_ASSIGN_OR_RETURN(Bytes stored, GetPackRange(type, id, *loc, loc->offset, loc->length));
  Bytes out;
  CAIRN_RETURN_IF_ERROR(DecodeBlob(type, id, *loc, stored, codec, out));
  return out;
}

Result<Bytes> Repository::GetPackRange(BlobType type, const Id& id, const BlobLocation& loc,
                                       uint64_t offset, uint64_t length) const {
  auto stored = store_->Get(PackKey(loc.pack), offset, length);
  if (!stored) return Err(PackReadError(stored.error(), loc.pack, type, &id));
  if (stored->size() < loc.offset - offset + loc.length) {
    return Err(TruncatedPack(loc.pack, type, &id));
  }
  return std::move(*stored);
}

TreeLoadFn Repository::TreeLoader(BlobCodec& codec) const {
  return [this, &codec](const Id& id) { return LoadBlob(BlobType::kTree, id, codec); };
}

// ---------------------------------------------------------------- snapshots

Result<Id> Repository::SaveSnapshot(const Snapshot& s, BlobCodec& codec) {
  Snapshot stored = s;
  if (stored.retain_until_ns == 0) stored.retain_until_ns = SnapshotRetainUntil(s.time_ns);
  Bytes plain = EncodeSnapshot(stored);
  CAIRN_ASSIGN_OR_RETURN(Id id, SaveObject(ObjectKind::kSnapshot, plain, codec));
  Status c = cache_->PutSnapshot(id, plain);
  if (!c.ok()) logger_->Warn("{}", c.message());
  return id;
}

Result<std::vector<Snapshot>> Repository::ListSnapshots() {
  std::set<Id> listed;
  CAIRN_RETURN_IF_ERROR(store_->List("snapshots/", [&](const ObjectInfo& info) {
    auto id = Id::FromHex(info.key.substr(10));
    if (id) listed.insert(*id);
    return Status::OK();
  }));
  std::vector<Snapshot> out;
  std::set<Id> cached;
  std::vector<Id> gone;
  CAIRN_RETURN_IF_ERROR(cache_->ForEachSnapshot([&](const Id& id, ByteView plain) {
    if (!listed.count(id)) {
      gone.push_back(id);
      return;
    }
    auto s = DecodeSnapshot(plain, id);
    if (s) {
      cached.insert(id);
      out.push_back(std::move(*s));
    }
  }));
  for (const Id& id : gone) (void)cache_->DeleteSnapshot(id);
  auto codec = NewCodec();
  for (const Id& id : listed) {
    if (cached.count(id)) continue;
    CAIRN_ASSIGN_OR_RETURN(Bytes plain, LoadObject(ObjectKind::kSnapshot, id, *codec));
    auto s = DecodeSnapshot(plain, id);
    if (!s) return Err(s.error());
    Status c = cache_->PutSnapshot(id, plain);
    if (!c.ok()) logger_->Warn("{}", c.message());
    out.push_back(std::move(*s));
  }
  std::sort(out.begin(), out.end(), [](const Snapshot& a, const Snapshot& b) {
    return a.time_ns != b.time_ns ? a.time_ns < b.time_ns : a.id < b.id;
  });
  return out;
}

Result<Snapshot> Repository::FindSnapshot(const std::string& ref, const std::string& series) {
  CAIRN_ASSIGN_OR_RETURN(auto all, ListSnapshots());
  if (ref == "latest") {
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
      if (series.empty() || it->series == series) return *it;
    }
    return Err(Status::NotFound(series.empty()
                                    ? "the repository has no snapshots yet"
                                    : "no snapshot in series \"" + series + "\""));
  }
  if (ref.size() < 4 || !FromHex(ref.size() % 2 ? ref + "0" : ref)) {
    return Err(Status::InvalidArgument("snapshot \"" + ref +
                                       "\": give `latest` or at least 4 hex digits of an id"));
  }
  const Snapshot* found = nullptr;
  for (const auto& s : all) {
    if (s.id.Hex().compare(0, ref.size(), ref) == 0) {
      if (found) {
        return Err(Status::InvalidArgument("snapshot prefix \"" + ref +
                                           "\" is ambiguous; give more digits"));
      }
      found = &s;
    }
  }
  if (!found) {
    return Err(Status::NotFound("no snapshot with id " + ref + " (list them with `cairn "
                                                              "snapshots`)"));
  }
  return *found;
}

}  // namespace cairn
