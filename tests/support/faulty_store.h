// FaultyStore: wraps a store and injects faults (kopia faulty.go,
// mountpoint-s3 failure_client.rs): fail the k-th call of an operation, fail
// one call in N with Transient, corrupt or truncate what Get returns for
// keys with a prefix, run out of space after B bytes, delay calls.
// Thread-safe; faults are configured before or during use.
#pragma once

#include <atomic>
#include <map>
#include <mutex>

#include "backend/object_store.h"

namespace cairn {

enum class StoreOp { kGet, kHead, kList, kPut, kDelete };

class FaultyStore final : public ObjectStore {
 public:
  explicit FaultyStore(ObjectStore& base) : base_(base) {}

  // The k-th call (1-based, counted from now) of op fails with s.
  void FailNth(StoreOp op, uint64_t k, Status s);
  // Every n-th call of op fails with Transient (0 turns it off).
  void FailEvery(StoreOp op, uint64_t n);
  // Get of keys starting with prefix returns data with the byte at offset
  // (within the returned range) flipped.
  void CorruptGets(std::string prefix, size_t offset);
  // Get of keys starting with prefix returns at most max bytes.
  void TruncateGets(std::string prefix, size_t max);
  // Put fails with NoSpace once this many bytes were stored through it.
  void NoSpaceAfter(uint64_t bytes);
  void DelayMs(int64_t ms) { delay_ms_ = ms; }

  uint64_t Calls(StoreOp op) const;
  uint64_t BytesRead() const { return bytes_read_; }

  Result<Bytes> Get(std::string_view key, uint64_t offset, uint64_t length) override;
  Result<ObjectInfo> Head(std::string_view key) override;
  Status List(std::string_view prefix,
              const std::function<Status(const ObjectInfo&)>& fn) override;
  Status Put(std::string_view key, ByteView data, const PutOptions& opts) override;
  Status Delete(std::string_view key) override;
  std::string Describe() const override { return "faulty(" + base_.Describe() + ")"; }

 private:
  // Counts the call and returns the fault to inject, if any.
  Status Enter(StoreOp op, std::string_view key);

  ObjectStore& base_;
  mutable std::mutex mu_;
  std::map<StoreOp, uint64_t> calls_;                       // GUARDED_BY(mu_)
  std::map<StoreOp, std::map<uint64_t, Status>> nth_;       // GUARDED_BY(mu_): absolute call no.
  std::map<StoreOp, uint64_t> every_;                       // GUARDED_BY(mu_)
  std::string corrupt_prefix_;                              // GUARDED_BY(mu_)
  size_t corrupt_offset_ = 0;                               // GUARDED_BY(mu_)
  bool corrupt_ = false;                                    // GUARDED_BY(mu_)
  std::string truncate_prefix_;                             // GUARDED_BY(mu_)
  size_t truncate_max_ = 0;                                 // GUARDED_BY(mu_)
  bool truncate_ = false;                                   // GUARDED_BY(mu_)
  uint64_t space_left_ = UINT64_MAX;                        // GUARDED_BY(mu_)
  std::atomic<int64_t> delay_ms_{0};
  std::atomic<uint64_t> bytes_read_{0};
};

}  // namespace cairn
