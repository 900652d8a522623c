// Content-defined chunking: FastCDC-style gear hash with normalized chunking
// (Xia et al., USENIX ATC 2016). The gear table is derived from the
// repository's MAC key, so chunk boundaries do not reveal content to someone
// who knows the algorithm but not the key.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "common/bytes.h"
#include "common/status.h"
#include "repo/crypto.h"

namespace cairn {

struct ChunkerParams {
  uint32_t min_size = 512 * 1024;
  uint32_t avg_size = 1024 * 1024;  // a power of two
  uint32_t max_size = 8 * 1024 * 1024;
};

// InvalidArgument unless 64 <= min < avg < max, avg a power of two, max <= 64 MiB.
Status ValidateChunkerParams(const ChunkerParams& p);

using GearTable = std::array<uint64_t, 256>;
// gear[i] = first 8 bytes (little-endian) of HMAC-SHA256(mac_key, "cairn.gear" || u8(i)).
GearTable DeriveGearTable(const Key32& mac_key);

// Stateless boundary finder. Thread-safe (immutable).
class Chunker {
 public:
  Chunker(const ChunkerParams& params, const GearTable& gear);

  // data starts at a chunk start. Returns the length of the chunk that
  // begins there: a cut point in [min, max], or data.size() when data is
  // shorter than min, or when no cut is found and data.size() < max (the
  // caller passes at least max bytes unless data is the rest of the stream).
  size_t NextCut(ByteView data) const;

  const ChunkerParams& params() const { return params_; }

 private:
  ChunkerParams params_;
  GearTable gear_;
  uint64_t mask_small_;  // used before avg_size: harder to match
  uint64_t mask_large_;  // used after avg_size: easier to match
};

}  // namespace cairn
