#include "fs/head_base.h"

#include <algorithm>

namespace cairn {

namespace {

uint64_t Footprint(const std::vector<Node>& nodes) {
  uint64_t n = sizeof(nodes);
  for (const auto& x : nodes) {
    n += sizeof(Node) + x.name.size() + x.symlink_target.size() +
         x.content.size() * sizeof(Extent);
    for (const auto& a : x.xattrs) n += a.name.size() + a.value.size() + sizeof(Xattr);
  }
  return n;
}

}  // namespace

BaseDirs::BaseDirs(Repository& repo, uint64_t budget_bytes)
    : repo_(repo), budget_(budget_bytes), codecs_([&repo] { return repo.NewCodec(); }) {}

Result<BaseDirs::Nodes> BaseDirs::Get(const Id& tree) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = by_id_.find(tree); it != by_id_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second;
    }
  }
  std::vector<Node> nodes;
  {
    auto codec = codecs_.Acquire();
    CAIRN_ASSIGN_OR_RETURN(nodes, ReadTree(tree, repo_.TreeLoader(*codec)));
  }
  const uint64_t size = Footprint(nodes);
  Nodes shared = std::make_shared<const std::vector<Node>>(std::move(nodes));
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = by_id_.find(tree); it != by_id_.end()) return it->second->second;
  lru_.emplace_front(tree, shared);
  by_id_[tree] = lru_.begin();
  bytes_ += size;
  while (bytes_ > budget_ && lru_.size() > 1) {
    bytes_ -= std::min(bytes_, Footprint(*lru_.back().second));
    by_id_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return shared;
}

const Node* BaseDirs::Find(const std::vector<Node>& nodes, std::string_view name) {
  auto it = std::lower_bound(nodes.begin(), nodes.end(), name,
                             [](const Node& n, std::string_view k) { return n.name < k; });
  return it != nodes.end() && it->name == name ? &*it : nullptr;
}

}  // namespace cairn
