#include "backend/retrying_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>

#include "common/clock.h"

namespace cairn {

RetryingStore::RetryingStore(std::unique_ptr<ObjectStore> base, const RetryPolicy& policy,
                             SleepFn sleep, ClockFn clock)
    : ForwardingStore(std::move(base)),
      max_retries_(std::max(0, policy.max_retries)),
      budget_ms_(policy.retry_budget_ms),
      base_delay_ms_(std::max<int64_t>(0, policy.retry_base_delay_ms)),
      logger_(policy.logger),
      sleep_(std::move(sleep)),
      clock_(std::move(clock)),
      rng_(std::random_device{}()) {
  if (!sleep_) {
    sleep_ = [](int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); };
  }
  if (!clock_) clock_ = [] { return MonotonicNs() / 1000000; };
}

int64_t RetryingStore::Backoff(int n) {
  const int shift = std::min(n, 30);
  const int64_t cap =
      base_delay_ms_ > (kMaxDelayMs >> shift) ? kMaxDelayMs : base_delay_ms_ << shift;
  std::lock_guard<std::mutex> lock(rng_mu_);
  return std::uniform_int_distribution<int64_t>(0, cap)(rng_);
}

template <class F>
auto RetryingStore::Retry(std::string_view op, std::string_view key, F&& f,
                          const bool* caller_failed) -> decltype(f()) {
  const int64_t start = clock_();
  for (int attempts = 1;; ++attempts) {
    auto r = f();
    const Status s = AsStatus(r);
    if (s.ok() || !s.Is(ErrorCode::kTransient)) return r;
    if (caller_failed != nullptr && *caller_failed) return r;
    const int64_t spent = clock_() - start;
    const int64_t left = budget_ms_ - spent;
    if (attempts > max_retries_ || left <= 0) {
      return Err(s.WithContext(
          fmt::format("{} {}: gave up after {} attempts in {} ms", op, key, attempts, spent)));
    }
    const int64_t delay = std::min(Backoff(attempts - 1), left);
    if (logger_ != nullptr) {
      logger_->Debug("{} {}: attempt {} failed ({}); retrying in {} ms", op, key, attempts,
                     s.message(), delay);
    }
    sleep_(delay);
  }
}

Result<Bytes> RetryingStore::DoGet(std::string_view key, uint64_t offset, uint64_t length) {
  return Retry("GET", key, [&] { return target().Get(key, offset, length); });
}

Result<ObjectInfo> RetryingStore::Head(std::string_view key) {
  return Retry("HEAD", key, [&] { return target().Head(key); });
}

Status RetryingStore::List(std::string_view prefix,
                           const std::function<Status(const ObjectInfo&)>& fn) {
  bool fn_failed = false;  // the error is the caller's own: never retried
  const std::function<Status(const ObjectInfo&)> wrapped = [&](const ObjectInfo& info) {
    Status s = fn(info);
    fn_failed = !s.ok();
    return s;
  };
  return Retry(
      "LIST", prefix, [&] { return target().List(prefix, wrapped); }, &fn_failed);
}

Status RetryingStore::DoPut(std::string_view key, ByteView data, const PutOptions& opts) {
  bool maybe_stored = false;  // an attempt failed in a way that may have stored the object
  return Retry("PUT", key, [&]() -> Status {
    Status s = target().Put(key, data, opts);
    if (s.Is(ErrorCode::kAlreadyExists) && opts.if_not_exists && maybe_stored) {
      auto stored = target().Get(key);
      if (stored && std::equal(stored->begin(), stored->end(), data.begin(), data.end())) {
        if (logger_ != nullptr) {
          logger_->Debug("PUT {}: an earlier attempt stored the object", key);
        }
        return Status::OK();
      }
      if (!stored && stored.error().Is(ErrorCode::kTransient)) return stored.error();
    }
    if (s.Is(ErrorCode::kTransient)) maybe_stored = true;
    return s;
  });
}

Status RetryingStore::Delete(std::string_view key) {
  return Retry("DELETE", key, [&] { return target().Delete(key); });
}

Result<ObjectLockConfig> RetryingStore::GetObjectLockConfig() {
  return Retry("GET object-lock", "", [&] { return target().GetObjectLockConfig(); });
}

Status RetryingStore::SetRetention(std::string_view key, LockMode mode, int64_t retain_until_ns) {
  return Retry("PUT retention", key,
               [&] { return target().SetRetention(key, mode, retain_until_ns); });
}

Result<int64_t> RetryingStore::GetRetention(std::string_view key) {
  return Retry("GET retention", key, [&] { return target().GetRetention(key); });
}

Status RetryingStore::RequestRestore(std::string_view key, int days) {
  return Retry("POST restore", key, [&] { return target().RequestRestore(key, days); });
}

Status RetryingStore::RetryStatus(std::string_view op, std::string_view key,
                                 const std::function<Status()>& f) {
  return Retry(op, key, [&] { return f(); });
}

}  // namespace cairn
