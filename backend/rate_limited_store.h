// RateLimitedStore: whole-process bandwidth limits (--limit-upload,
// --limit-download, KiB/s) as a wrapper, so they hold for every store kind
// and every thread: all calls through one wrapper share one TokenBucket per
// direction.
//
// The limit is kept at object granularity: a Put reserves its bytes before
// it is sent, a Get reserves the bytes it received; a caller whose
// reservation lies in the future sleeps until then. Averaged over a few
// objects the rate never exceeds the limit; a single object still moves at
// the link's speed (a 16 MiB pack at 1 MiB/s is followed by 16 s of quiet).
//
// Thread-safe: each bucket's state is guarded by its mutex.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "backend/forwarding_store.h"

namespace cairn {

class TokenBucket {
 public:
  using NowFn = std::function<int64_t()>;  // monotonic nanoseconds
  // bytes_per_s > 0; up to burst_bytes may go at once after an idle spell.
  TokenBucket(uint64_t bytes_per_s, uint64_t burst_bytes, NowFn now = {});
  // Reserves n bytes; returns how long (ns) the caller must wait first.
  int64_t Reserve(uint64_t n);

 private:
  const double ns_per_byte_;
  const int64_t burst_ns_;
  NowFn now_;
  std::mutex mu_;
  int64_t next_free_ns_ = 0;  // GUARDED_BY(mu_): when the reserved bytes are paid off
};

// Only Get and Put move object bytes; every other call is forwarded as is.
class RateLimitedStore final : public ForwardingStore {
 public:
  using SleepFn = std::function<void(int64_t ns)>;
  // A limit of 0 means unlimited in that direction.
  RateLimitedStore(std::unique_ptr<ObjectStore> base, uint64_t upload_kib_s,
                   uint64_t download_kib_s, TokenBucket::NowFn now = {}, SleepFn sleep = {});

 protected:
  Result<Bytes> DoGet(std::string_view key, uint64_t offset, uint64_t length) override;
  Status DoPut(std::string_view key, ByteView data, const PutOptions& opts) override;

 private:
  std::unique_ptr<TokenBucket> up_, down_;  // null: unlimited
  SleepFn sleep_;
};

}  // namespace cairn
