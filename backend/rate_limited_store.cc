#include "backend/rate_limited_store.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "common/clock.h"

namespace cairn {

TokenBucket::TokenBucket(uint64_t bytes_per_s, uint64_t burst_bytes, NowFn now)
    : ns_per_byte_(1e9 / static_cast<double>(std::max<uint64_t>(1, bytes_per_s))),
      burst_ns_(static_cast<int64_t>(static_cast<double>(burst_bytes) * ns_per_byte_)),
      now_(now ? std::move(now) : MonotonicNs) {}

int64_t TokenBucket::Reserve(uint64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = now_();
  // Idle time earns at most burst_bytes of credit.
  next_free_ns_ = std::max(next_free_ns_, now - burst_ns_);
  next_free_ns_ += static_cast<int64_t>(static_cast<double>(n) * ns_per_byte_);
  return std::max<int64_t>(0, next_free_ns_ - now);
}

RateLimitedStore::RateLimitedStore(std::unique_ptr<ObjectStore> base, uint64_t upload_kib_s,
                                   uint64_t download_kib_s, TokenBucket::NowFn now, SleepFn sleep)
    : ForwardingStore(std::move(base)),
      sleep_(sleep ? std::move(sleep)
                   : [](int64_t ns) { std::this_thread::sleep_for(std::chrono::nanoseconds(ns)); }) {
  // A burst of one second's worth (at least 64 KiB) keeps small metadata
  // objects from waiting behind nothing.
  auto make = [&](uint64_t kib) -> std::unique_ptr<TokenBucket> {
    if (kib == 0) return nullptr;
    return std::make_unique<TokenBucket>(kib * 1024, std::max<uint64_t>(kib * 1024, 64 * 1024), now);
  };
  up_ = make(upload_kib_s);
  down_ = make(download_kib_s);
}

Result<Bytes> RateLimitedStore::DoGet(std::string_view key, uint64_t offset, uint64_t length) {
  auto r = target().Get(key, offset, length);
  if (r && down_) {
    if (int64_t wait = down_->Reserve(r->size()); wait > 0) sleep_(wait);
  }
  return r;
}

Status RateLimitedStore::DoPut(std::string_view key, ByteView data, const PutOptions& opts) {
  if (up_) {
    if (int64_t wait = up_->Reserve(data.size()); wait > 0) sleep_(wait);
  }
  return target().Put(key, data, opts);
}

}  // namespace cairn
