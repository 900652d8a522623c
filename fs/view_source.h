// ViewSource: the mount's current SnapshotView (fs/snapshot_view.h), read
// from the repository's snapshot list at start and again on Refresh. The
// layout tree shows it; the snapshot tree finds its roots and snapshots in
// it.
//
// Thread safety: all methods may be called concurrently. A view is
// immutable once published; Current() hands out a shared_ptr to it, so a
// refresh never changes what a running operation sees. Lock order:
// refresh_mu_ before view_mu_; view_mu_ is held only to copy the pointer.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "common/log.h"
#include "common/status.h"
#include "fs/snapshot_view.h"
#include "repo/repository.h"

namespace cairn {

class ViewSource {
 public:
  // repo must outlive the ViewSource. No view until the first Refresh.
  ViewSource(Repository& repo, int64_t refresh_interval_ns);
  ViewSource(const ViewSource&) = delete;
  ViewSource& operator=(const ViewSource&) = delete;

  std::shared_ptr<const SnapshotView> Current() {
    std::lock_guard<std::mutex> lock(view_mu_);
    return view_;
  }
  // Re-reads the snapshot list (and the new index segments) now. A refresh
  // that changes the list stamps the layout directories with the time now
  // (the kernel drops their cached listings by mtime); one that changes
  // nothing keeps the old stamps.
  Status Refresh();
  // Refreshes when the last try is older than the refresh interval; a
  // failure keeps the old view (logged) and waits a full interval.
  void MaybeRefresh();

 private:
  Repository& repo_;
  Logger& log_;
  const int64_t refresh_interval_ns_;
  std::mutex refresh_mu_;  // one refresh at a time; taken before view_mu_
  std::mutex view_mu_;     // guards view_ (the pointer; a view is immutable)
  std::shared_ptr<const SnapshotView> view_;
  std::atomic<int64_t> last_attempt_ns_{0};  // monotonic time of the last refresh try
};

}  // namespace cairn
