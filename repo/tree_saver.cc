#include "repo/tree_saver.h"

namespace cairn {

TreeSaver::TreeSaver(WriteFn write, StoppedFn stopped, FailFn fail)
    : write_(std::move(write)), stopped_(std::move(stopped)), fail_(std::move(fail)) {}

TreeSaver::Dir* TreeSaver::Root(std::string path) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    root_started_ = true;
  }
  return new Dir(nullptr, 0, std::move(path));
}

TreeSaver::Dir* TreeSaver::Child(Dir* parent, size_t slot, std::string path) {
  Hold(parent);
  return new Dir(parent, slot, std::move(path));
}

void TreeSaver::Finish(Dir* d) {
  std::vector<Node> kept;
  kept.reserve(d->nodes_.size());
  for (size_t i = 0; i < d->nodes_.size(); ++i) {
    if (!d->skip_[i]) kept.push_back(std::move(d->nodes_[i]));
  }
  Id id;
  if (!stopped_()) {
    auto written = write_(kept, d->path_);
    if (written) {
      id = *written;
      trees_written_.fetch_add(1, std::memory_order_relaxed);
    } else {
      fail_(written.error().WithContext("writing the tree of " + d->path_));
    }
  }
  Dir* parent = d->parent_;
  if (!parent) {
    std::lock_guard<std::mutex> lock(mu_);
    root_id_ = id;
    root_done_ = true;
    root_done_cv_.notify_all();
  } else {
    parent->nodes_[d->slot_].subtree = id;
  }
  delete d;
  if (parent) Release(parent);
}

Id TreeSaver::Wait() {
  std::unique_lock<std::mutex> lock(mu_);
  root_done_cv_.wait(lock, [&] { return root_done_ || !root_started_; });
  return root_id_;
}

}  // namespace cairn
