// RetryingStore: retries Transient errors with exponential backoff and full
// jitter, bounded in attempts and total time; permanent errors return at
// once. Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <random>

#include "backend/object_store.h"
#include "backend/open_store.h"

namespace cairn {

class RetryingStore final : public ObjectStore {
 public:
  using SleepFn = std::function<void(int64_t ms)>;
  // sleep defaults to a real sleep; tests pass a fake.
  RetryingStore(std::unique_ptr<ObjectStore> base, const StoreOptions& opts, SleepFn sleep = {});

  Result<Bytes> Get(std::string_view key, uint64_t offset, uint64_t length) override;
  Result<ObjectInfo> Head(std::string_view key) override;
  Status List(std::string_view prefix,
              const std::function<Status(const ObjectInfo&)>& fn) override;
  Status Put(std::string_view key, ByteView data, const PutOptions& opts) override;
  Status Delete(std::string_view key) override;
  std::string Describe() const override { return base_->Describe(); }
  Status SetRetention(std::string_view key, LockMode mode, int64_t until) override;
  Result<int64_t> GetRetention(std::string_view key) override;
  Status RequestRestore(std::string_view key, int days) override;

 private:
  template <class F>
  auto Retry(std::string_view op, std::string_view key, F&& f) -> decltype(f());
  int64_t Backoff(int attempt);

  std::unique_ptr<ObjectStore> base_;
  StoreOptions opts_;
  SleepFn sleep_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_;  // GUARDED_BY(rng_mu_)
};

}  // namespace cairn
