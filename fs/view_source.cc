#include "fs/view_source.h"

#include <algorithm>

#include "common/clock.h"

namespace cairn {

ViewSource::ViewSource(Repository& repo, int64_t refresh_interval_ns)
    : repo_(repo), log_(repo.logger()), refresh_interval_ns_(refresh_interval_ns) {}

Status ViewSource::Refresh() {
  std::lock_guard<std::mutex> lock(refresh_mu_);
  last_attempt_ns_.store(MonotonicNs());
  CAIRN_RETURN_IF_ERROR(repo_.SyncIndex());
  CAIRN_ASSIGN_OR_RETURN(auto snaps, repo_.ListSnapshots());
  auto v = std::make_shared<SnapshotView>(BuildSnapshotView(std::move(snaps)));
  uint64_t pack_bytes = 0;
  CAIRN_RETURN_IF_ERROR(repo_.cache().ForEachPack([&](const Id&, uint64_t size) {
    pack_bytes += size;
  }));
  v->stats.stored_bytes = pack_bytes;
  v->built_ns = MonotonicNs();
  std::shared_ptr<const SnapshotView> old = Current();
  if (old) {
    // The kernel keeps the layout directories' listings until their mtime
    // changes (fuse_ops.cc, OpOpenDir): a refresh that changes the list
    // stamps them with the time now (never earlier than the newest
    // snapshot), one that changes nothing keeps the old stamps.
    bool changed = old->snaps.size() != v->snaps.size() ||
                   !std::equal(v->snaps.begin(), v->snaps.end(), old->snaps.begin(),
                               [](const Snapshot& a, const Snapshot& b) { return a.id == b.id; });
    int64_t now = NowNs();
    for (auto& [ino, n] : v->nodes) {
      if (n.kind != SynthNode::kDir) continue;
      const SynthNode* was = old->Find(ino);
      if (changed || !was) {
        n.mtime_ns = std::max(n.mtime_ns, now);
      } else {
        n.mtime_ns = was->mtime_ns;
      }
    }
    if (changed) log_.Info("mount: snapshot list refreshed: {} snapshots", v->snaps.size());
  }
  std::lock_guard<std::mutex> vlock(view_mu_);
  view_ = std::move(v);
  return Status::OK();
}

void ViewSource::MaybeRefresh() {
  int64_t now = MonotonicNs();
  if (now - last_attempt_ns_.load() < refresh_interval_ns_) return;
  Status s = Refresh();
  if (!s.ok()) log_.Warn("mount: cannot refresh the snapshot list: {}", s.message());
}

}  // namespace cairn
