#include "fs/head_packer.h"

#include <algorithm>
#include <chrono>

namespace cairn {

namespace {

// The worker looks at the queue at least this often, and at most this
// often when the Host says nothing is due sooner.
constexpr int64_t kMaxWaitNs = 1'000'000'000;
constexpr int64_t kMinWaitNs = 10'000'000;

}  // namespace

HeadPacker::HeadPacker(Repository& repo, Host& host, const HeadPackerOptions& opts)
    : repo_(repo),
      host_(host),
      opts_(opts),
      encoders_(std::max<size_t>(1, opts.encoder_threads),
                2 * std::max<size_t>(1, opts.encoder_threads)) {
  if (opts_.enabled) worker_ = std::thread([this] { Loop(); });
}

HeadPacker::~HeadPacker() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    cancel_job_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  // Blobs being encoded still reach the saver; its destructor then waits
  // for the uploads in flight and writes no index segment.
  encoders_.Wait();
  reader_.reset();
  saver_.reset();
}

void HeadPacker::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void HeadPacker::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    if (paused_ > 0) {
      cv_.wait(lock);
      continue;
    }
    const bool all = drainers_ > 0;
    busy_ = true;
    woken_ = false;
    lock.unlock();
    int64_t wait_ns = kMaxWaitNs;
    std::optional<Job> job = host_.NextJob(all, &wait_ns);
    if (job) {
      // A file unlinked or cut while it was read fails here; whatever the
      // reason, the seal reads the file itself.
      Status st = RunJob(*job);
      if (st.Is(ErrorCode::kCancelled)) {
        host_.JobCancelled(*job);
      } else if (!st.ok()) {
        repo_.logger().Debug("head/: background packing of inode {}: {}", job->ino, st.message());
      }
    }
    lock.lock();
    if (!job && all) {
      Status st = StoreLocked(lock);
      if (!st.ok() && drain_status_.ok()) drain_status_ = st;
      ++drain_epoch_;
      busy_ = false;
      cv_.notify_all();
      // The drainers return now; until they have, another pass would only
      // spin.
      cv_.wait_for(lock, std::chrono::milliseconds(50),
                   [&] { return stop_ || woken_ || drainers_ == 0; });
      continue;
    }
    busy_ = false;
    cv_.notify_all();
    if (!job && !all && !stop_ && paused_ == 0 && !woken_) {
      cv_.wait_for(lock, std::chrono::nanoseconds(std::clamp(wait_ns, kMinWaitNs, kMaxWaitNs)));
    }
  }
}

Status HeadPacker::RunJob(Job& job) {
  if (!saver_) {
    // Made outside mu_: opening the pack journal may index a killed
    // writer's packs (one Head each).
    BlobSaverOptions o;
    o.upload_threads = std::max<size_t>(1, opts_.upload_threads);
    auto saver = std::make_unique<BlobSaver>(repo_, o);
    auto reader = std::make_unique<FileReader>(repo_, *saver, encoders_);
    std::lock_guard<std::mutex> lock(mu_);
    saver_ = std::move(saver);
    reader_ = std::move(reader);
  }
  Result<FileContent> content = reader_->Read(*job.file, &cancel_job_);
  job.file.reset();
  if (!content) return content.error();
  const uint64_t size = content->size;
  host_.JobDone(job, std::move(*content));
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.files_packed;
  stats_.bytes_packed += size;
  return Status::OK();
}

Status HeadPacker::StoreLocked(std::unique_lock<std::mutex>& lock) {
  if (!saver_) return Status::OK();
  lock.unlock();
  encoders_.Wait();
  Status s = saver_->Flush();
  lock.lock();
  const BlobSaverStats b = saver_->stats();
  stats_.data_blobs += b.data_blobs;
  stats_.raw_bytes += b.raw_bytes;
  stats_.bytes_uploaded += b.stored_bytes;
  stats_.packs_uploaded += b.packs;
  reader_.reset();
  saver_.reset();
  if (!s.ok()) {
    stats_.error = s.message();
    repo_.logger().Warn("head/: background packing: {} (the seal stores those files itself)",
                        s.message());
  }
  return s;
}

Status HeadPacker::Pause() {
  std::unique_lock<std::mutex> lock(mu_);
  ++paused_;
  cancel_job_ = true;
  cv_.wait(lock, [&] { return !busy_; });
  cancel_job_ = false;
  busy_ = true;  // the saver is ours while we store
  Status s = StoreLocked(lock);
  busy_ = false;
  cv_.notify_all();
  return s;
}

void HeadPacker::Resume() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (paused_ > 0) --paused_;
  }
  cv_.notify_all();
}

Status HeadPacker::Drain(const std::atomic<bool>* cancel) {
  if (!opts_.enabled) return Status::OK();
  std::unique_lock<std::mutex> lock(mu_);
  if (drainers_ == 0) drain_status_ = Status::OK();  // the first error of this drain
  ++drainers_;
  // A pass the worker is in may have looked at the queue before we came:
  // only a pass that starts after this call counts.
  const uint64_t want = drain_epoch_ + (busy_ ? 2 : 1);
  woken_ = true;
  cv_.notify_all();
  bool cancelled = false;
  while (drain_epoch_ < want && !stop_) {
    if (cancel && cancel->load()) {
      cancelled = true;
      break;
    }
    cv_.wait_for(lock, std::chrono::milliseconds(200));
  }
  --drainers_;
  if (cancelled) return Status::Cancelled("stopped waiting for head/'s staged data to be stored");
  if (stop_) return Status::Cancelled("head/ is closing");
  return drain_status_;
}

HeadPackerStats HeadPacker::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  HeadPackerStats s = stats_;
  if (saver_) {
    const BlobSaverStats b = saver_->stats();
    s.data_blobs += b.data_blobs;
    s.raw_bytes += b.raw_bytes;
    s.bytes_uploaded += b.stored_bytes;
    s.packs_uploaded += b.packs;
  }
  return s;
}

void HeadPacker::ResetStats() {
  std::lock_guard<std::mutex> lock(mu_);
  std::string error = std::move(stats_.error);
  stats_ = HeadPackerStats{};
  stats_.error = std::move(error);
}

}  // namespace cairn
