#include "repo/ram_blob_cache.h"

namespace cairn {

RamBlobCache::Plain RamBlobCache::Find(const Id& id, bool* first_read) {
  auto it = map_.find(id);
  if (it == map_.end()) return nullptr;
  lru_.splice(lru_.end(), lru_, it->second.lru);
  if (first_read) {
    *first_read = it->second.prefetched;
    it->second.prefetched = false;
  }
  return it->second.plain;
}

void RamBlobCache::Insert(const Id& id, Plain plain, bool prefetched) {
  const uint64_t size = plain->size();
  if (size > capacity_ || map_.count(id)) return;
  while (bytes_ + size > capacity_ && !lru_.empty()) {
    auto victim = map_.find(lru_.front());
    bytes_ -= victim->second.plain->size();
    map_.erase(victim);
    lru_.pop_front();
  }
  bytes_ += size;
  map_.emplace(id, Entry{std::move(plain), lru_.insert(lru_.end(), id), prefetched});
}

}  // namespace cairn
