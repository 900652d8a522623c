// FileReader: turns one open file into extents (chunk ids and holes) and its
// SHA-256, handing new chunks to BlobSaver. Chunks up to kInlineEncodeMax are
// encoded on the calling thread; larger ones go to the encoder pool so one
// big file still uses every core. Thread-safe: many files are read at once.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <vector>

#include "common/object_pool.h"
#include "common/status.h"
#include "common/thread_pool.h"
#include "repo/blob_saver.h"
#include "repo/repository.h"
#include "repo/tree.h"

namespace cairn {

struct FileContent {
  std::vector<Extent> extents;
  Id sha256;
  uint64_t size = 0;        // bytes of content, holes included
  uint64_t bytes_read = 0;  // bytes read from the file (holes excluded)
};

class FileReader {
 public:
  static constexpr size_t kInlineEncodeMax = 256 * 1024;

  FileReader(const Repository& repo, BlobSaver& saver, ThreadPool& encoders);

  // Reads fd from offset 0 up to `limit` bytes (the size seen when it was
  // opened, so a file that keeps growing cannot keep the backup reading;
  // UINT64_MAX reads a pipe to its end). When sparse is true, the data
  // regions are found with SEEK_DATA/SEEK_HOLE and holes become hole extents
  // (the hash still covers them as zeros). what names the file in errors.
  Result<FileContent> Read(int fd, bool sparse, uint64_t limit, const std::string& what,
                           const std::atomic<bool>* cancel);

 private:
  Status ReadRegion(int fd, uint64_t offset, uint64_t length, bool to_eof, FileContent& out,
                    Sha256Stream& sha, Bytes& buf, const std::string& what,
                    const std::atomic<bool>* cancel);
  void EmitChunk(ByteView chunk, FileContent& out);

  const Repository& repo_;
  BlobSaver& saver_;
  ThreadPool& encoders_;
  ObjectPool<Bytes> buffers_;
  ObjectPool<Sha256Stream> hashers_;
};

}  // namespace cairn
