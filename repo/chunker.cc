#include "repo/chunker.h"

#include <bit>

#include "common/coding.h"

namespace cairn {

Status ValidateChunkerParams(const ChunkerParams& p) {
  if (p.min_size < 64 || p.min_size >= p.avg_size || p.avg_size >= p.max_size ||
      !std::has_single_bit(p.avg_size) || p.max_size > 64u * 1024 * 1024) {
    return Status::InvalidArgument(
        "chunker sizes must satisfy 64 <= min < avg < max <= 64 MiB with avg a power of two");
  }
  return Status::OK();
}

GearTable DeriveGearTable(const Key32& mac_key) {
  GearTable gear;
  uint8_t msg[11] = {'c', 'a', 'i', 'r', 'n', '.', 'g', 'e', 'a', 'r', 0};
  for (int i = 0; i < 256; ++i) {
    msg[10] = static_cast<uint8_t>(i);
    Id h = HmacSha256(mac_key, ByteView(msg, sizeof(msg)));
    gear[static_cast<size_t>(i)] = DecodeFixed64(h.bytes.data());
  }
  return gear;
}

// Normalized chunking (FastCDC level 2): before avg_size a cut needs
// log2(avg)+2 zero bits, after it log2(avg)-2, which narrows the chunk size
// distribution around avg. The gear hash shifts left, so its high bits
// depend on the most bytes (64): the masks use the high bits.
Chunker::Chunker(const ChunkerParams& params, const GearTable& gear)
    : params_(params), gear_(gear) {
  const int bits = std::countr_zero(params.avg_size);
  mask_small_ = ~uint64_t{0} << (64 - (bits + 2));
  mask_large_ = ~uint64_t{0} << (64 - (bits - 2));
}

size_t Chunker::NextCut(ByteView data) const {
  size_t n = data.size();
  if (n <= params_.min_size) return n;
  if (n > params_.max_size) n = params_.max_size;
  const size_t normal = n < params_.avg_size ? n : params_.avg_size;
  const uint8_t* p = data.data();
  const uint64_t* gear = gear_.data();
  uint64_t h = 0;
  size_t i = params_.min_size;
  for (; i < normal; ++i) {
    h = (h << 1) + gear[p[i]];
    if (!(h & mask_small_)) return i + 1;
  }
  for (; i < n; ++i) {
    h = (h << 1) + gear[p[i]];
    if (!(h & mask_large_)) return i + 1;
  }
  return n;
}

}  // namespace cairn
