// Fuzz target for index segments: decode or fail with Corruption; whatever
// decodes re-encodes to bytes that decode to the same segment.
#include "repo/index.h"
#include "tests/fuzz/fuzz_entry.h"

extern "C" int CAIRN_FUZZ_ENTRY(const uint8_t* data, size_t size) {
  using namespace cairn;
  auto seg = DecodeIndexSegment(ByteView(data, size));
  if (!seg) {
    CAIRN_FUZZ_CHECK(seg.error().code() == ErrorCode::kCorruption);
    return 0;
  }
  for (const IndexPack& p : seg->packs) {
    for (const PackEntry& b : p.blobs) {
      CAIRN_FUZZ_CHECK(b.offset < p.pack_size && uint64_t{b.offset} + b.length <= p.pack_size);
    }
  }
  const Bytes again = EncodeIndexSegment(*seg);
  auto back = DecodeIndexSegment(again);
  CAIRN_FUZZ_CHECK(back.has_value());
  CAIRN_FUZZ_CHECK(back->packs == seg->packs && back->supersedes == seg->supersedes);
  CAIRN_FUZZ_CHECK(EncodeIndexSegment(*back) == again);
  return 0;
}
