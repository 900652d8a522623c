#include "repo/file_reader.h"

#include <algorithm>

namespace cairn {

namespace {
constexpr size_t kReadSize = 4 * 1024 * 1024;  // one read() call at most
constexpr uint8_t kZeros[64 * 1024] = {};
}  // namespace

FileReader::FileReader(const Repository& repo, BlobSaver& saver, ThreadPool& encoders)
    : repo_(repo),
      saver_(saver),
      encoders_(encoders),
      buffers_([] { return std::make_unique<Bytes>(); }),
      hashers_([] { return std::make_unique<Sha256Stream>(); }) {}

void FileReader::EmitChunk(ByteView chunk, FileContent& out) {
  Id id = repo_.crypto().BlobId(chunk);
  out.extents.push_back(Extent{id, chunk.size(), false});
  if (!saver_.Claim(id)) return;
  const auto raw = static_cast<uint32_t>(chunk.size());
  if (chunk.size() <= kInlineEncodeMax) {
    auto codec = saver_.codecs().Acquire();
    Bytes stored;
    codec->Encode(BlobType::kData, id, chunk, stored);
    (void)saver_.Add(BlobType::kData, id, stored, raw);  // errors surface in Flush()
    return;
  }
  // The read buffer is reused at once, so the encoder gets its own copy.
  auto copy = std::make_shared<Bytes>(chunk.begin(), chunk.end());
  encoders_.Submit([this, id, copy, raw] {
    auto codec = saver_.codecs().Acquire();
    Bytes stored;
    codec->Encode(BlobType::kData, id, *copy, stored);
    (void)saver_.Add(BlobType::kData, id, stored, raw);
  });
}

Status FileReader::ReadRegion(SourceFile& file, uint64_t offset, uint64_t length, bool to_eof,
                              FileContent& out, Sha256Stream& sha, Bytes& buf,
                              const std::atomic<bool>* cancel) {
  const size_t max = repo_.chunker().params().max_size;
  // buf[start, end) holds bytes read and not yet chunked. It is refilled
  // until it holds max bytes (or the region ends), so every cut sees a full
  // window. The buffer grows to 2*max at most; compaction then moves < max
  // bytes after at least max bytes were consumed.
  const size_t cap = 2 * max;
  size_t start = 0, end = 0;
  uint64_t remaining = length;
  bool eof = false;
  for (;;) {
    if (cancel && cancel->load(std::memory_order_relaxed)) {
      return Status::Cancelled("interrupted");
    }
    while (!eof && end - start < max) {
      if (end == buf.size()) {
        if (buf.size() < cap) {
          buf.resize(std::min(cap, std::max<size_t>(2 * buf.size(), 64 * 1024)));
        } else {
          std::memmove(buf.data(), buf.data() + start, end - start);
          end -= start;
          start = 0;
        }
      }
      size_t room = std::min(buf.size() - end, kReadSize);
      if (!to_eof) room = static_cast<size_t>(std::min<uint64_t>(room, remaining));
      size_t n = 0;
      if (room) {
        CAIRN_ASSIGN_OR_RETURN(n, file.ReadAt(offset, std::span<uint8_t>(buf.data() + end, room)));
      }
      if (n == 0) {
        eof = true;
        break;
      }
      sha.Update(ByteView(buf.data() + end, n));
      end += n;
      offset += n;
      out.bytes_read += n;
      if (!to_eof && (remaining -= n) == 0) eof = true;
    }
    if (start == end) break;
    size_t cut = repo_.chunker().NextCut(ByteView(buf.data() + start, end - start));
    EmitChunk(ByteView(buf.data() + start, cut), out);
    out.size += cut;
    start += cut;
    if (start == end) start = end = 0;
  }
  return Status::OK();
}

Result<FileContent> FileReader::Read(SourceFile& file, const std::atomic<bool>* cancel) {
  FileContent out;
  auto buf = buffers_.Acquire();
  // A buffer grown for a big file goes back to the system afterwards: most
  // files are small, and idle readers should not hold 2*max bytes each.
  struct Shrink {
    Bytes& b;
    ~Shrink() {
      if (b.capacity() > (2u << 20)) Bytes().swap(b);
    }
  } shrink{*buf};
  auto sha = hashers_.Acquire();
  (void)sha->Finish();  // a pooled hasher may hold a failed file's state
  const uint64_t limit = file.limit();
  if (!file.sparse()) {
    CAIRN_RETURN_IF_ERROR(ReadRegion(file, 0, limit, limit == SourceFile::kToEnd, out, *sha, *buf,
                                     cancel));
    out.sha256 = sha->Finish();
    return out;
  }
  uint64_t pos = 0;
  auto add_hole = [&](uint64_t len) {
    if (len == 0) return;
    out.extents.push_back(Extent{Id(), len, true});
    out.size += len;
    for (uint64_t left = len; left > 0;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(left, sizeof(kZeros)));
      sha->Update(ByteView(kZeros, n));
      left -= n;
    }
  };
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(std::optional<uint64_t> data, file.SeekData(pos));
    if (!data) {
      // No data after pos: the rest is a hole up to the end of the file.
      CAIRN_ASSIGN_OR_RETURN(uint64_t endpos, file.SeekEnd());
      endpos = std::min(endpos, limit);
      if (endpos > pos) add_hole(endpos - pos);
      break;
    }
    if (*data >= limit) {
      add_hole(limit - pos);
      break;
    }
    CAIRN_ASSIGN_OR_RETURN(uint64_t hole, file.SeekHole(*data));
    hole = std::min(hole, limit);
    add_hole(*data - pos);
    const uint64_t want = hole - *data;
    const uint64_t before = out.size;
    CAIRN_RETURN_IF_ERROR(ReadRegion(file, *data, want, false, out, *sha, *buf, cancel));
    // A region that came up short means the file shrank while being read:
    // the content ends where the bytes ended.
    if (out.size - before < want) break;
    pos = hole;
    if (pos >= limit) break;
  }
  out.sha256 = sha->Finish();
  return out;
}

}  // namespace cairn
