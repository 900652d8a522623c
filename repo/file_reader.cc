#include "repo/file_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/errno_status.h"

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

Status FileReader::ReadRegion(int fd, uint64_t offset, uint64_t length, bool to_eof,
                              FileContent& out, Sha256Stream& sha, Bytes& buf,
                              const std::string& what, const std::atomic<bool>* cancel) {
  const size_t max = repo_.chunker().params().max_size;
  // buf[start, end) holds bytes read and not yet chunked. It is refilled
  // until it holds max bytes (or the region ends), so every cut sees a full
  // window. The buffer grows to 2*max at most; compaction then moves < max
  // bytes after at least max bytes were consumed.
  const size_t cap = 2 * max;
  size_t start = 0, end = 0;
  uint64_t remaining = length;
  bool eof = false;
  bool stream = false;  // fd cannot seek: read() instead of pread()
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
      ssize_t n = 0;
      if (room) {
        n = stream ? ::read(fd, buf.data() + end, room)
                   : ::pread(fd, buf.data() + end, room, static_cast<off_t>(offset));
      }
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == ESPIPE && !stream) {  // a pipe (--stdin): read it in order
          stream = true;
          continue;
        }
        return StatusFromErrno(errno, "reading " + what);
      }
      if (n == 0) {
        eof = true;
        break;
      }
      sha.Update(ByteView(buf.data() + end, static_cast<size_t>(n)));
      end += static_cast<size_t>(n);
      offset += static_cast<uint64_t>(n);
      out.bytes_read += static_cast<uint64_t>(n);
      if (!to_eof && (remaining -= static_cast<uint64_t>(n)) == 0) eof = true;
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

Result<FileContent> FileReader::Read(int fd, bool sparse, uint64_t limit,
                                     const std::string& what, const std::atomic<bool>* cancel) {
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
  if (!sparse) {
    (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    CAIRN_RETURN_IF_ERROR(ReadRegion(fd, 0, limit, limit == UINT64_MAX, out, *sha, *buf, what,
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
    off_t data = ::lseek(fd, static_cast<off_t>(pos), SEEK_DATA);
    if (data < 0) {
      if (errno != ENXIO) return Err(StatusFromErrno(errno, "seeking data in " + what));
      // No data after pos: the rest is a hole up to the end of the file.
      off_t endpos = ::lseek(fd, 0, SEEK_END);
      if (endpos < 0) return Err(StatusFromErrno(errno, "seeking in " + what));
      endpos = std::min<off_t>(endpos, static_cast<off_t>(limit));
      if (static_cast<uint64_t>(endpos) > pos) add_hole(static_cast<uint64_t>(endpos) - pos);
      break;
    }
    if (static_cast<uint64_t>(data) >= limit) {
      add_hole(limit - pos);
      break;
    }
    off_t hole = ::lseek(fd, data, SEEK_HOLE);
    if (hole < 0) return Err(StatusFromErrno(errno, "seeking hole in " + what));
    hole = std::min<off_t>(hole, static_cast<off_t>(limit));
    add_hole(static_cast<uint64_t>(data) - pos);
    const uint64_t want = static_cast<uint64_t>(hole - data);
    const uint64_t before = out.size;
    CAIRN_RETURN_IF_ERROR(ReadRegion(fd, static_cast<uint64_t>(data), want, false, out, *sha,
                                     *buf, what, cancel));
    // A region that came up short means the file shrank while being read:
    // the content ends where the bytes ended.
    if (out.size - before < want) break;
    pos = static_cast<uint64_t>(hole);
    if (pos >= limit) break;
  }
  out.sha256 = sha->Finish();
  return out;
}

}  // namespace cairn
