#include "fs/listing_cache.h"

namespace cairn {

bool ListingCache::FirstListing(uint64_t ino) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!listed_.insert(ino).second) return false;
  listed_order_.push_back(ino);
  if (listed_order_.size() > listed_kept_) {
    listed_.erase(listed_order_.front());
    listed_order_.pop_front();
  }
  return true;
}

void ListingCache::Put(uint64_t ino, Listing listing) {
  std::lock_guard<std::mutex> lock(mu_);
  const size_t n = listing.entries.size();
  if (ready_.try_emplace(ino, std::move(listing)).second) {
    ready_order_.push_back(ino);
    ready_entries_ += n;
  }
  // Listings taken leave their slot behind: drop those slots once they
  // outnumber the listings (amortized O(1), the deque stays bounded).
  if (ready_order_.size() > 2 * ready_.size() + 1024) {
    std::erase_if(ready_order_, [&](uint64_t i) { return !ready_.count(i); });
  }
  while (ready_entries_ > max_entries_ && !ready_order_.empty()) {
    if (auto it = ready_.find(ready_order_.front()); it != ready_.end()) {
      ready_entries_ -= it->second.entries.size();
      ready_.erase(it);
    }
    ready_order_.pop_front();
  }
}

std::optional<ListingCache::Listing> ListingCache::Take(uint64_t ino) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = ready_.find(ino);
  if (it == ready_.end()) return std::nullopt;
  Listing l = std::move(it->second);
  ready_entries_ -= l.entries.size();
  ready_.erase(it);  // its ready_order_ slot is skipped when it comes up
  served_.fetch_add(1, std::memory_order_relaxed);
  return l;
}

size_t ListingCache::entries() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ready_entries_;
}

}  // namespace cairn
