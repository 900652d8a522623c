#include "repo/blob_saver.h"

#include "common/clock.h"

namespace cairn {

BlobSaver::BlobSaver(Repository& repo, const BlobSaverOptions& opts)
    : repo_(repo),
      opts_(opts),
      codecs_([&repo] { return repo.NewCodec(); }),
      queue_(opts.max_queued_packs),
      last_segment_ns_(MonotonicNs()) {
  size_t n = opts_.upload_threads ? opts_.upload_threads : 1;
  for (size_t i = 0; i < n; ++i) uploaders_.emplace_back([this] { UploadLoop(); });
}

BlobSaver::~BlobSaver() {
  queue_.Close();
  for (auto& t : uploaders_) t.join();
}

void BlobSaver::SetError(const Status& s) {
  std::lock_guard<std::mutex> lock(err_mu_);
  if (first_error_.ok()) first_error_ = s;
  failed_.store(true);
}

Status BlobSaver::error() const {
  std::lock_guard<std::mutex> lock(err_mu_);
  return first_error_;
}

bool BlobSaver::Known(const Id& id) {
  {
    std::lock_guard<std::mutex> lock(known_mu_);
    if (known_.count(id)) return true;
  }
  return repo_.FindBlob(id).has_value();
}

bool BlobSaver::Claim(const Id& id) {
  {
    std::lock_guard<std::mutex> lock(known_mu_);
    if (known_.count(id)) return false;
  }
  if (repo_.FindBlob(id)) return false;
  std::lock_guard<std::mutex> lock(known_mu_);
  return known_.insert(id).second;
}

Status BlobSaver::Add(BlobType type, const Id& id, ByteView stored, uint32_t raw_length) {
  if (failed_.load(std::memory_order_relaxed)) return error();
  TypeState& ts = types_[static_cast<int>(type)];
  std::unique_ptr<PackBuilder> full;
  {
    std::lock_guard<std::mutex> lock(ts.mu);
    if (!ts.builder) {
      ts.builder = std::make_unique<PackBuilder>(repo_.config().pack_size + (1 << 20));
    }
    ts.builder->Add(type, id, stored, raw_length);
    if (ts.builder->size() >= repo_.config().pack_size) full = std::move(ts.builder);
  }
  (type == BlobType::kData ? data_blobs_ : tree_blobs_).fetch_add(1, std::memory_order_relaxed);
  raw_bytes_.fetch_add(raw_length, std::memory_order_relaxed);
  if (full) Enqueue(std::move(full));
  return Status::OK();
}

Result<bool> BlobSaver::Save(BlobType type, const Id& id, ByteView plaintext, BlobCodec& codec) {
  if (!Claim(id)) return false;
  Bytes stored;
  codec.Encode(type, id, plaintext, stored);
  CAIRN_RETURN_IF_ERROR(Add(type, id, stored, static_cast<uint32_t>(plaintext.size())));
  return true;
}

void BlobSaver::Enqueue(std::unique_ptr<PackBuilder> full) {
  // Blocks while max_queued_packs wait: back-pressure on the producers.
  if (!queue_.Push(std::move(full))) SetError(Status::Cancelled("blob saver is closed"));
}

void BlobSaver::UploadLoop() {
  auto codec = repo_.NewCodec();
  while (auto b = queue_.Pop()) {
    if (failed_.load()) continue;  // drain without uploading after an error
    Status s = UploadOne(**b, *codec);
    if (!s.ok()) SetError(s);
  }
}

Status BlobSaver::UploadOne(PackBuilder& builder, BlobCodec& codec) {
  FinishedPack pack = builder.Finish(codec);
  Status s = repo_.store().Put(PackKey(pack.id), pack.bytes);
  if (!s.ok()) return s.WithContext("storing pack " + pack.id.Short());
  stored_bytes_.fetch_add(pack.bytes.size(), std::memory_order_relaxed);
  packs_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(index_mu_);
  pending_.packs.push_back(IndexPack{pack.id, pack.bytes.size(), std::move(pack.entries)});
  if (pending_.packs.size() >= opts_.index_max_packs ||
      MonotonicNs() - last_segment_ns_ >= opts_.index_interval_ns) {
    return WriteSegmentLocked(codec);
  }
  return Status::OK();
}

Status BlobSaver::WriteSegmentLocked(BlobCodec& codec) {
  last_segment_ns_ = MonotonicNs();
  if (pending_.packs.empty()) return Status::OK();
  Bytes plain = EncodeIndexSegment(pending_);
  CAIRN_ASSIGN_OR_RETURN(Id id, repo_.SaveObject(ObjectKind::kIndex, plain, codec));
  Status c = repo_.CacheSegment(id, pending_);
  if (!c.ok()) repo_.logger().Warn("{}", c.message());
  pending_ = IndexSegment{};
  segments_.fetch_add(1, std::memory_order_relaxed);
  return Status::OK();
}

Status BlobSaver::Flush() {
  if (flushed_) return error();
  flushed_ = true;
  for (TypeState& ts : types_) {
    std::unique_ptr<PackBuilder> partial;
    {
      std::lock_guard<std::mutex> lock(ts.mu);
      partial = std::move(ts.builder);
    }
    if (partial && !partial->empty()) Enqueue(std::move(partial));
  }
  queue_.Close();
  for (auto& t : uploaders_) t.join();
  uploaders_.clear();
  // Index what was uploaded even after an error: those packs are reusable.
  auto codec = codecs_.Acquire();
  std::lock_guard<std::mutex> lock(index_mu_);
  Status s = WriteSegmentLocked(*codec);
  if (!s.ok()) SetError(s);
  return error();
}

BlobSaverStats BlobSaver::stats() const {
  BlobSaverStats s;
  s.data_blobs = data_blobs_.load();
  s.tree_blobs = tree_blobs_.load();
  s.raw_bytes = raw_bytes_.load();
  s.stored_bytes = stored_bytes_.load();
  s.packs = packs_.load();
  s.index_segments = segments_.load();
  return s;
}

}  // namespace cairn
