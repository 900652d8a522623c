#include "repo/blob_saver.h"

#include <algorithm>

#include "common/clock.h"

namespace cairn {

BlobSaver::BlobSaver(Repository& repo, const BlobSaverOptions& opts)
    : repo_(repo),
      opts_(opts),
      codecs_([&repo] { return repo.NewCodec(); }),
      queue_(opts.max_queued_packs),
      last_segment_ns_(MonotonicNs()) {
  if (opts_.journal) OpenJournal();
  size_t n = opts_.upload_threads ? opts_.upload_threads : 1;
  for (size_t i = 0; i < n; ++i) uploaders_.emplace_back([this] { UploadLoop(); });
}

BlobSaver::~BlobSaver() {
  queue_.Close();
  for (auto& t : uploaders_) t.join();
}

void BlobSaver::OpenJournal() {
  const std::string& dir = repo_.cache().dir();
  auto j = PackJournal::Open(repo_.files(), dir);
  if (!j) {
    repo_.logger().Warn("pack journal in {}: {}; if this backup is killed, `cairn index rebuild` "
                        "indexes the packs it stored", dir, j.error().message());
    return;
  }
  // Only packs the store holds (at the recorded size) are indexed: prune or
  // a wiped store may have removed one since, and an index naming a missing
  // pack would let the dedup skip data that is not there. A pack whose Head
  // fails is left out too (then `cairn index rebuild` finds it). A pack the
  // cache already knows was named by a stored segment (the writer died
  // before clearing the journal).
  std::vector<IndexPack> keep;
  size_t dropped = 0;
  for (const IndexPack& p : (*j)->recovered()) {
    if (repo_.cache().PackSize(p.pack)) continue;
    auto info = repo_.store().Head(PackKey(p.pack));
    if (info && info->size == p.pack_size) {
      keep.push_back(p);
    } else {
      ++dropped;
      repo_.logger().Info("pack journal: pack {} not indexed: {}", p.pack.Short(),
                          info ? "its size differs from the record" : info.error().message());
    }
  }
  std::lock_guard<std::mutex> lock(index_mu_);
  journal_ = std::move(*j);
  if (journal_->damaged_slots()) {
    repo_.logger().Info("pack journal in {}: ignored a damaged tail (a writer was killed "
                        "while appending)", dir);
  }
  const bool stale = !journal_->recovered().empty() || journal_->claimed_slots() > 1;
  if (keep.empty()) {
    if (stale) {
      if (Status s = journal_->Clear(); !s.ok()) JournalFailedLocked(s);
    }
    return;
  }
  repo_.logger().Info("indexing {} packs stored by an interrupted backup ({} dropped)",
                      keep.size(), dropped);
  pending_.packs = std::move(keep);
  const size_t n = pending_.packs.size();
  auto codec = codecs_.Acquire();
  // On failure they stay pending (and journaled) and go with the next segment.
  if (Status s = WriteSegmentLocked(*codec); !s.ok()) {
    repo_.logger().Warn("indexing the packs of an interrupted backup: {}", s.message());
    return;
  }
  recovered_.store(n);
}

void BlobSaver::JournalFailedLocked(const Status& s) {
  if (journal_warned_) return;
  journal_warned_ = true;
  repo_.logger().Warn("pack journal {}: {}; if this backup is killed, `cairn index rebuild` "
                      "indexes the packs it stored", journal_->path(), s.message());
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
  // Packs hold one blob type each; only data packs may go to a cold
  // storage class (tree packs are read to browse).
  const bool data = std::any_of(pack.entries.begin(), pack.entries.end(),
                                [](const PackEntry& e) { return e.type == BlobType::kData; });
  std::list<IndexPack>::iterator mine;
  {
    std::lock_guard<std::mutex> lock(index_mu_);
    mine = storing_.insert(storing_.end(),
                           IndexPack{pack.id, pack.bytes.size(), std::move(pack.entries)});
    // Recorded before the Put starts, so a kill at any moment after the
    // pack is stored finds it in the journal. Under index_mu_, so a segment
    // written meanwhile keeps the record (Clear's keep).
    if (journal_) {
      if (Status j = journal_->Append(*mine); !j.ok()) JournalFailedLocked(j);
    }
  }
  Status s = repo_.store().Put(PackKey(pack.id), pack.bytes,
                               repo_.WriteOptions(data ? WriteKind::kDataPack : WriteKind::kTreePack));
  std::lock_guard<std::mutex> lock(index_mu_);
  IndexPack indexed = std::move(*mine);
  storing_.erase(mine);
  // A failed Put's record stays until the next Clear; a reader drops it
  // unless the store holds the pack after all.
  if (!s.ok()) return s.WithContext("storing pack " + pack.id.Short());
  stored_bytes_.fetch_add(pack.bytes.size(), std::memory_order_relaxed);
  packs_.fetch_add(1, std::memory_order_relaxed);
  pending_.packs.push_back(std::move(indexed));
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
  // Only now: a crash before this replays records the stored segment names
  // already (skipped: the cache knows their packs, or a duplicate segment).
  if (journal_) {
    std::vector<const IndexPack*> keep;
    for (const IndexPack& p : storing_) keep.push_back(&p);
    if (Status j = journal_->Clear(keep); !j.ok()) JournalFailedLocked(j);
  }
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
  s.recovered_packs = recovered_.load();
  return s;
}

}  // namespace cairn
