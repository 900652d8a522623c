// RamBlobCache: decoded blobs kept in RAM, least recently used evicted
// first, bounded in bytes of plaintext. Blobs are shared, immutable
// buffers: a reader copying out of one keeps it alive after eviction, so
// eviction never waits for readers and the bound counts only what the
// cache itself holds.
//
// An entry may be marked "prefetched" (fetched ahead of a file's open, not
// read yet) so the reader can count read-ahead that paid off, once per
// fetch.
//
// Thread safety: none of its own. The owner serializes every call (the
// ContentReader holds its mu_, which also guards the table of fetches in
// flight, so "cached or being fetched?" is one atomic question).
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <unordered_map>

#include "common/bytes.h"
#include "common/id.h"

namespace cairn {

class RamBlobCache {
 public:
  using Plain = std::shared_ptr<const Bytes>;

  // Holds at most capacity_bytes of plaintext.
  explicit RamBlobCache(uint64_t capacity_bytes) : capacity_(capacity_bytes) {}
  RamBlobCache(const RamBlobCache&) = delete;
  RamBlobCache& operator=(const RamBlobCache&) = delete;

  // The blob, or null. A hit becomes the most recently used. When
  // first_read is given, it is set to whether the entry was inserted
  // prefetched and not found this way since, and the entry no longer counts
  // as prefetched.
  Plain Find(const Id& id, bool* first_read = nullptr);
  // Whether the blob is held; the LRU order is left as it is.
  bool Contains(const Id& id) const { return map_.count(id) != 0; }
  // Adds the blob as the most recently used, evicting the least recently
  // used until it fits. A blob larger than the capacity is not kept, and a
  // blob held already is left as it is (same id, same bytes).
  void Insert(const Id& id, Plain plain, bool prefetched);

  uint64_t bytes() const { return bytes_; }  // plaintext held now
  size_t size() const { return map_.size(); }
  uint64_t capacity() const { return capacity_; }

 private:
  struct Entry {
    Plain plain;
    std::list<Id>::iterator lru;
    bool prefetched = false;
  };

  const uint64_t capacity_;
  std::unordered_map<Id, Entry, IdHash> map_;
  std::list<Id> lru_;  // oldest first
  uint64_t bytes_ = 0;
};

}  // namespace cairn
