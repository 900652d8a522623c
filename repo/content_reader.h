// STAND-IN for helper H5's ContentReader (branch blobcache), with exactly the
// interface H5 implements: when blobcache is merged, its version of this file
// and content_reader.cc replaces this one. No blob cache, no read-ahead.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "repo/repository.h"
#include "repo/tree.h"

namespace cairn {

class BlobCache;

struct ContentReaderOptions {
  uint64_t memory_cache_bytes = 64 << 20;
  size_t fetch_threads = 8;
  uint64_t max_readahead_bytes = 64 << 20;
};

class ContentReader {  // thread-safe
 public:
  ContentReader(const Repository& repo, BlobCache* disk_cache, const ContentReaderOptions& opts);
  ~ContentReader();

  class File;
  std::unique_ptr<File> Open(const Node& file, std::string what);
  Result<size_t> Read(File& f, uint64_t offset, std::span<uint8_t> out);
  std::string State(const Node& file) const;

 private:
  const Repository& repo_;
};

// Complete here so that callers can destroy the unique_ptr Open returns.
class ContentReader::File {
 public:
  Node node;
  std::string what;
  std::vector<uint64_t> starts;  // offset of each extent
  std::unique_ptr<BlobCodec> codec;
  size_t cached_extent = SIZE_MAX;
  Bytes cached;
};

}  // namespace cairn
