// STAND-IN, replaced by H5's implementation (see content_reader.h).
#include "repo/content_reader.h"

#include <algorithm>
#include <cstring>

namespace cairn {


ContentReader::ContentReader(const Repository& repo, BlobCache*, const ContentReaderOptions&)
    : repo_(repo) {}
ContentReader::~ContentReader() = default;

std::unique_ptr<ContentReader::File> ContentReader::Open(const Node& file, std::string what) {
  auto f = std::make_unique<File>();
  f->node = file;
  f->what = std::move(what);
  uint64_t off = 0;
  for (const auto& x : file.content) {
    f->starts.push_back(off);
    off += x.length;
  }
  f->codec = repo_.NewCodec();
  return f;
}

Result<size_t> ContentReader::Read(File& f, uint64_t offset, std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size() && offset + done < f.node.size) {
    uint64_t pos = offset + done;
    size_t i = static_cast<size_t>(
        std::upper_bound(f.starts.begin(), f.starts.end(), pos) - f.starts.begin() - 1);
    const Extent& x = f.node.content[i];
    uint64_t in = pos - f.starts[i];
    size_t n = static_cast<size_t>(std::min<uint64_t>(x.length - in, out.size() - done));
    if (x.hole) {
      std::memset(out.data() + done, 0, n);
    } else {
      if (f.cached_extent != i) {
        auto b = repo_.LoadBlob(BlobType::kData, x.blob, *f.codec);
        if (!b) {
          Status e = b.error().WithContext(f.what);
          repo_.logger().Error("{}", e.message());
          return Err(e);
        }
        f.cached = std::move(*b);
        f.cached_extent = i;
      }
      if (f.cached.size() < in + n) {
        return Err(Status::Corruption(f.what + ": blob " + x.blob.Short() + " is shorter than its extent"));
      }
      std::memcpy(out.data() + done, f.cached.data() + in, n);
    }
    done += n;
  }
  return done;
}

std::string ContentReader::State(const Node&) const { return "stored"; }

}  // namespace cairn
