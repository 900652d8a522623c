#include "backend/retrying_store.h"

#include <chrono>
#include <thread>

#include "common/clock.h"

namespace cairn {

RetryingStore::RetryingStore(std::unique_ptr<ObjectStore> base, const StoreOptions& opts,
                             SleepFn sleep)
    : base_(std::move(base)), opts_(opts), sleep_(std::move(sleep)), rng_(std::random_device{}()) {
  if (!sleep_) {
    sleep_ = [](int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); };
  }
}

int64_t RetryingStore::Backoff(int attempt) {
  // Full jitter (AWS architecture blog): uniform in [0, base * 2^attempt],
  // capped at 10 s.
  int64_t cap = std::min<int64_t>(10000, opts_.retry_base_delay_ms << std::min(attempt, 16));
  std::lock_guard<std::mutex> lock(rng_mu_);
  return std::uniform_int_distribution<int64_t>(0, std::max<int64_t>(cap, 1))(rng_);
}

template <class F>
auto RetryingStore::Retry(std::string_view op, std::string_view key, F&& f) -> decltype(f()) {
  const int64_t start = MonotonicNs();
  for (int attempt = 0;; ++attempt) {
    auto r = f();
    Status s = AsStatus(r);
    if (s.ok() || !s.Is(ErrorCode::kTransient)) return r;
    int64_t spent_ms = (MonotonicNs() - start) / 1000000;
    if (attempt >= opts_.max_retries || spent_ms >= opts_.retry_budget_ms) {
      return Err(Status(ErrorCode::kTransient,
                        s.message() + " (gave up after " + std::to_string(attempt + 1) +
                            " attempts in " + std::to_string(spent_ms) + " ms)"));
    }
    int64_t delay = std::min(Backoff(attempt), std::max<int64_t>(0, opts_.retry_budget_ms - spent_ms));
    if (opts_.logger) {
      opts_.logger->Debug("retrying {} {} in {} ms (attempt {}): {}", op, key, delay, attempt + 2,
                          s.message());
    }
    sleep_(delay);
  }
}

Result<Bytes> RetryingStore::Get(std::string_view key, uint64_t offset, uint64_t length) {
  return Retry("GET", key, [&] { return base_->Get(key, offset, length); });
}

Result<ObjectInfo> RetryingStore::Head(std::string_view key) {
  return Retry("HEAD", key, [&] { return base_->Head(key); });
}

Status RetryingStore::List(std::string_view prefix,
                           const std::function<Status(const ObjectInfo&)>& fn) {
  // A listing that fails part-way is retried from the start; fn may then
  // see keys twice, which every caller tolerates (they collect into sets).
  return Retry("LIST", prefix, [&] { return base_->List(prefix, fn); });
}

Status RetryingStore::Put(std::string_view key, ByteView data, const PutOptions& opts) {
  return Retry("PUT", key, [&] { return base_->Put(key, data, opts); });
}

Status RetryingStore::Delete(std::string_view key) {
  return Retry("DELETE", key, [&] { return base_->Delete(key); });
}

Status RetryingStore::SetRetention(std::string_view key, LockMode mode, int64_t until) {
  return Retry("PUT retention", key, [&] { return base_->SetRetention(key, mode, until); });
}

Result<int64_t> RetryingStore::GetRetention(std::string_view key) {
  return Retry("GET retention", key, [&] { return base_->GetRetention(key); });
}

Status RetryingStore::RequestRestore(std::string_view key, int days) {
  return Retry("POST restore", key, [&] { return base_->RequestRestore(key, days); });
}

}  // namespace cairn
