#include "fs/tree_prefetcher.h"

namespace cairn {

TreePrefetcher::TreePrefetcher(size_t threads, size_t max_jobs, RunFn run)
    : max_jobs_(max_jobs ? max_jobs : 1), run_(std::move(run)) {
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
}

TreePrefetcher::~TreePrefetcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    stack_.clear();
  }
  cv_.notify_all();
  idle_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void TreePrefetcher::Push(std::vector<Job> jobs) {
  if (jobs.empty() || threads_.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    for (auto& j : jobs) stack_.push_back(std::move(j));
    while (stack_.size() > max_jobs_) stack_.pop_front();
  }
  cv_.notify_all();
}

void TreePrefetcher::WaitIdle() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_cv_.wait(lock, [&] { return stop_ || (stack_.empty() && running_ == 0); });
}

void TreePrefetcher::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !stack_.empty(); });
    if (stop_) return;
    Job job = std::move(stack_.back());
    stack_.pop_back();
    ++running_;
    lock.unlock();
    run_(job);
    lock.lock();
    if (--running_ == 0 && stack_.empty()) idle_cv_.notify_all();
  }
}

}  // namespace cairn
