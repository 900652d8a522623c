// FileReader: turns one open SourceFile into extents (chunk ids and holes) and its
// SHA-256, handing new chunks to BlobSaver. Chunks up to kInlineEncodeMax are
// encoded on the calling thread; larger ones go to the encoder pool so one
// big file still uses every core. Thread-safe: many files are read at once.
#pragma once

#include <atomic>
#include <vector>

#include "common/object_pool.h"
#include "common/status.h"
#include "common/thread_pool.h"
#include "repo/blob_saver.h"
#include "repo/repository.h"
#include "repo/source.h"
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

  // Reads file from offset 0 up to file.limit() bytes (to its end for a
  // stream). When file.sparse(), the data regions are found with
  // SeekData/SeekHole and holes become hole extents (the hash still covers
  // them as zeros). Errors are the file's, which name it.
  Result<FileContent> Read(SourceFile& file, const std::atomic<bool>* cancel);

 private:
  Status ReadRegion(SourceFile& file, uint64_t offset, uint64_t length, bool to_eof,
                    FileContent& out, Sha256Stream& sha, Bytes& buf,
                    const std::atomic<bool>* cancel);
  void EmitChunk(ByteView chunk, FileContent& out);

  const Repository& repo_;
  BlobSaver& saver_;
  ThreadPool& encoders_;
  ObjectPool<Bytes> buffers_;
  ObjectPool<Sha256Stream> hashers_;
};

}  // namespace cairn
