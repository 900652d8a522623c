// FaultyStore: wraps a store and injects faults (kopia faulty.go,
// mountpoint-s3 failure_client.rs). Faults can be set, changed or cleared at
// any time from any thread, and they combine: a call is first delayed, then
// counted, then may fail (FailNth before FailEvery, NoSpaceAfter for Puts);
// a Get that reaches the base store is then truncated, then corrupted.
//
//   MemoryStore mem;
//   FaultyStore faulty(mem);
//   faulty.FailEvery(StoreOp::kGet, 10);       // one GET in ten answers "503"
//   faulty.CorruptGets("packs/", 100);         // flip a bit of byte 100 of every pack read
//
// Thread-safe: all fault settings and counters are guarded by mu_; the base
// store is called without holding it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backend/forwarding_store.h"

namespace cairn {

enum class StoreOp { kGet, kHead, kList, kPut, kDelete };
// "GET", "HEAD", "LIST", "PUT", "DELETE".
std::string_view StoreOpName(StoreOp op);

class FaultyStore final : public ForwardingStore {
 public:
  // CorruptGets offset meaning "a pseudo-random offset within the range".
  static constexpr size_t kRandomOffset = SIZE_MAX;
  // NoSpaceAfter argument meaning "no limit".
  static constexpr uint64_t kUnlimited = UINT64_MAX;

  // Borrows base, which must outlive this store.
  explicit FaultyStore(ObjectStore& base);
  // Owns base.
  explicit FaultyStore(std::unique_ptr<ObjectStore> base);

  // --- Faults ---

  // The k-th call of op counted from now (k = 1: the next one) fails with s
  // without reaching the base store. Several may be pending.
  void FailNth(StoreOp op, uint64_t k, Status s);
  // From now on, every n-th call of op (the n-th, 2n-th, ...) fails with
  // Transient without reaching the base store; n = 1 fails them all and
  // n = 0 turns this off.
  void FailEvery(StoreOp op, uint64_t n);
  // Gets of keys starting with prefix return data whose byte at offset
  // (relative to the returned range; kRandomOffset: a pseudo-random one,
  // from a fixed seed so runs repeat) has its low bit flipped. Nothing is
  // flipped when the offset is outside the returned bytes. One rule per
  // prefix: setting a prefix again replaces its rule.
  void CorruptGets(std::string prefix, size_t offset = kRandomOffset);
  // Gets of keys starting with prefix return at most max bytes. One rule
  // per prefix, as above.
  void TruncateGets(std::string prefix, size_t max);
  // Puts fail with NoSpace once they would take the bytes stored through
  // this wrapper from now on past `bytes`; kUnlimited turns this off.
  void NoSpaceAfter(uint64_t bytes);
  // Every call sleeps this long before anything else; 0 turns it off.
  void DelayMs(int64_t ms);
  // Removes every fault; counters are kept.
  void ClearFaults();

  // --- Counters (since construction, faulty calls included) ---

  uint64_t Calls(StoreOp op) const;
  // Bytes returned by successful Gets, after truncation.
  uint64_t BytesRead() const;
  // Bytes of successful Puts.
  uint64_t BytesWritten() const;
  // Calls failed by FailNth, FailEvery or NoSpaceAfter.
  uint64_t InjectedFailures() const;

  // --- ObjectStore ---

  // Faults apply to Get, Head, List, Put and Delete. Traits and the
  // retention and restore calls pass through without faults or counting.
  Result<ObjectInfo> Head(std::string_view key) override;
  Status List(std::string_view prefix, const std::function<Status(const ObjectInfo&)>& fn) override;
  Status Delete(std::string_view key) override;
  std::string Describe() const override { return "faulty(" + target().Describe() + ")"; }

 protected:
  Result<Bytes> DoGet(std::string_view key, uint64_t offset, uint64_t length) override;
  Status DoPut(std::string_view key, ByteView data, const PutOptions& opts) override;

 private:
  static constexpr size_t kOps = 5;
  struct OpFaults {
    uint64_t calls = 0;              // since construction
    std::map<uint64_t, Status> nth;  // absolute call number -> error
    uint64_t every = 0;              // 0: off
    uint64_t every_since = 0;        // calls when FailEvery was set
  };

  // Delays, counts the call and returns the fault to inject, if any.
  Status Enter(StoreOp op, std::string_view key);
  // Truncates and corrupts a Get result per the rules for key.
  void Damage(std::string_view key, Bytes& data);

  std::atomic<int64_t> delay_ms_{0};

  mutable std::mutex mu_;
  std::array<OpFaults, kOps> ops_;          // GUARDED_BY(mu_), indexed by StoreOp
  std::map<std::string, size_t> corrupt_;   // GUARDED_BY(mu_): prefix -> offset
  std::map<std::string, size_t> truncate_;  // GUARDED_BY(mu_): prefix -> max bytes
  uint64_t space_limit_ = kUnlimited;       // GUARDED_BY(mu_)
  uint64_t space_used_ = 0;                 // GUARDED_BY(mu_): since NoSpaceAfter
  uint64_t rng_ = 0x9e3779b97f4a7c15ull;    // GUARDED_BY(mu_): splitmix64 state
  uint64_t bytes_read_ = 0;                 // GUARDED_BY(mu_)
  uint64_t bytes_written_ = 0;              // GUARDED_BY(mu_)
  uint64_t injected_ = 0;                   // GUARDED_BY(mu_)
};

}  // namespace cairn
