// Private to fs/head_*.cc: the base snapshot's directories as head/ reads
// them, decoded once and kept in RAM up to a byte budget (least recently
// used dropped first).
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/id.h"
#include "common/object_pool.h"
#include "common/status.h"
#include "repo/blob_codec.h"
#include "repo/repository.h"
#include "repo/tree.h"

namespace cairn {

class BaseDirs {
 public:
  using Nodes = std::shared_ptr<const std::vector<Node>>;
  BaseDirs(Repository& repo, uint64_t budget_bytes);

  // The nodes of the directory rooted at tree, sorted by name. Thread-safe;
  // a directory is decoded outside the lock (two threads may both decode
  // it once).
  Result<Nodes> Get(const Id& tree);
  // The node called name in sorted nodes; null when absent.
  static const Node* Find(const std::vector<Node>& nodes, std::string_view name);

 private:
  Repository& repo_;
  const uint64_t budget_;
  ObjectPool<BlobCodec> codecs_;
  std::mutex mu_;
  uint64_t bytes_ = 0;                                   // GUARDED_BY(mu_)
  std::list<std::pair<Id, Nodes>> lru_;                  // GUARDED_BY(mu_), newest first
  std::unordered_map<Id, decltype(lru_)::iterator, IdHash> by_id_;  // GUARDED_BY(mu_)
};

}  // namespace cairn
