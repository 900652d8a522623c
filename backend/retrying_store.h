// RetryingStore: retries what the base store reports as Transient (5xx,
// SlowDown, timeouts, resets) with exponential backoff and full jitter;
// every other error returns at once (restic IsPermanentError).
//
// Retry n (0-based) sleeps a uniform random time in
// [0, min(kMaxDelayMs, retry_base_delay_ms * 2^n)] (AWS "full jitter").
// A call makes at most 1 + max_retries attempts and stops retrying once
// retry_budget_ms have passed since its first attempt (sleeps are cut to the
// budget). Giving up returns the last error, code unchanged, with the context
// "gave up after N attempts in T ms". Each retry is logged at debug level
// with the operation, key, attempt number and error.
//
// Two cases need care beyond "call again":
//  - List: errors returned by the caller's callback are never retried. A
//    listing that fails part-way is restarted, so the callback may see some
//    keys twice; callers collect keys into sets.
//  - Put with if_not_exists: when an earlier attempt failed with Transient
//    (its reply may have been lost after the object was stored) and a later
//    one finds the key taken, the stored bytes are read back; if they are the
//    bytes being put, the Put succeeded and returns OK.
//
// Thread-safe: the base store is; the PRNG is guarded by rng_mu_; the sleep
// and clock functions must be callable from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>

#include "backend/forwarding_store.h"
#include "common/log.h"

namespace cairn {

// How hard RetryingStore tries. OpenStore's StoreOptions carries one (it
// derives from this), so the global --retries and --retry-time reach it.
struct RetryPolicy {
  int max_retries = 5;              // Transient errors retried this many times
  int64_t retry_budget_ms = 60000;  // give up retrying after this long in total
  int64_t retry_base_delay_ms = 100;
  Logger* logger = nullptr;  // retries log at debug level; may be null, else outlives the store
};

class RetryingStore final : public ForwardingStore {
 public:
  using SleepFn = std::function<void(int64_t ms)>;
  using ClockFn = std::function<int64_t()>;  // monotonic time in milliseconds

  static constexpr int64_t kMaxDelayMs = 10000;

  // sleep and clock default to the real ones; tests pass fakes (a fake
  // sleep that advances a fake clock).
  RetryingStore(std::unique_ptr<ObjectStore> base, const RetryPolicy& policy, SleepFn sleep = {},
                ClockFn clock = {});

  // Every call that reaches the store is retried; Describe and Traits are
  // the base store's.
  Result<ObjectInfo> Head(std::string_view key) override;
  Status List(std::string_view prefix, const std::function<Status(const ObjectInfo&)>& fn) override;
  Status Delete(std::string_view key) override;
  Result<ObjectLockConfig> GetObjectLockConfig() override;
  Status SetRetention(std::string_view key, LockMode mode, int64_t retain_until_ns) override;
  Result<int64_t> GetRetention(std::string_view key) override;
  Status RequestRestore(std::string_view key, int days) override;

  // Runs an operation that is not part of ObjectStore (e.g.
  // S3Store::EnsureBucket) under the same retry policy.
  Status RetryStatus(std::string_view op, std::string_view key, const std::function<Status()>& f);

 protected:
  Result<Bytes> DoGet(std::string_view key, uint64_t offset, uint64_t length) override;
  Status DoPut(std::string_view key, ByteView data, const PutOptions& opts) override;

 private:
  // Calls f until it succeeds, fails permanently, or retries run out. When
  // caller_failed is set after a failed call, that error is returned as is.
  template <class F>
  auto Retry(std::string_view op, std::string_view key, F&& f, const bool* caller_failed = nullptr)
      -> decltype(f());
  // Sleep before retry n (0-based), full jitter.
  int64_t Backoff(int n);

  const int max_retries_;
  const int64_t budget_ms_;
  const int64_t base_delay_ms_;
  Logger* const logger_;  // may be null
  SleepFn sleep_;
  ClockFn clock_;

  std::mutex rng_mu_;
  std::mt19937_64 rng_;  // GUARDED_BY(rng_mu_)
};

}  // namespace cairn
