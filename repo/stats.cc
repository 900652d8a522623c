#include "repo/stats.h"

#include <unordered_map>
#include <unordered_set>

#include "repo/tree_walk.h"

namespace cairn {

Result<RepoStats> ComputeStats(Repository& repo, const std::vector<Snapshot>& snaps) {
  CAIRN_RETURN_IF_ERROR(repo.SyncIndex());
  RepoStats st;
  std::unordered_set<Id, IdHash> blobs;
  std::unordered_set<Id, IdHash> trees_walked;
  auto codec = repo.NewCodec();
  auto count_blob = [&](const Id& id) {
    if (!blobs.insert(id).second) return;
    if (auto loc = repo.FindBlob(id)) {
      st.raw_bytes += loc->raw_length;
      st.stored_bytes += loc->length;
    }
  };
  // Each distinct tree is expanded once; the logical size of a repeated
  // subtree is added again per occurrence (a restore writes it again).
  std::function<Status(const Id&, uint64_t&, uint64_t&)> walk;
  std::unordered_map<Id, std::pair<uint64_t, uint64_t>, IdHash> subtree_totals;
  walk = [&](const Id& tree, uint64_t& files, uint64_t& bytes) -> Status {
    if (auto it = subtree_totals.find(tree); it != subtree_totals.end()) {
      files += it->second.first;
      bytes += it->second.second;
      return Status::OK();
    }
    count_blob(tree);
    uint64_t f = 0, b = 0;
    CAIRN_RETURN_IF_ERROR(ForEachNode(tree, repo.TreeLoader(*codec), [&](Node&& n) -> Status {
      if (n.type == NodeType::kDir) return walk(n.subtree, f, b);
      if (n.type == NodeType::kFile) {
        ++f;
        b += n.size;
        for (const Extent& x : n.content) {
          if (!x.hole) count_blob(x.blob);
        }
      }
      return Status::OK();
    }));
    subtree_totals[tree] = {f, b};
    files += f;
    bytes += b;
    return Status::OK();
  };
  std::vector<Snapshot> all;
  if (snaps.empty()) {
    CAIRN_ASSIGN_OR_RETURN(all, repo.ListSnapshots());
  }
  const std::vector<Snapshot>& use = snaps.empty() ? all : snaps;
  for (const Snapshot& s : use) {
    ++st.snapshots;
    CAIRN_RETURN_IF_ERROR(walk(s.tree, st.files, st.logical_bytes));
  }
  st.unique_blobs = blobs.size();
  CAIRN_RETURN_IF_ERROR(repo.cache().ForEachPack([&](const Id&, uint64_t size) {
    ++st.repo_packs;
    st.repo_pack_bytes += size;
  }));
  st.repo_blobs = repo.cache().BlobCount();
  return st;
}

}  // namespace cairn
