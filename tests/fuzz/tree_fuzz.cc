// Fuzz target for tree blobs. Any input must decode or fail with
// Corruption; whatever decodes must re-encode canonically (stable bytes that
// decode to the same blob). The input is also walked as a directory whose
// every blob id loads these same bytes, which exercises the walker's
// cross-blob checks (counts, order, repeated blobs, depth).
#include "repo/tree.h"
#include "tests/fuzz/fuzz_entry.h"

extern "C" int CAIRN_FUZZ_ENTRY(const uint8_t* data, size_t size) {
  using namespace cairn;
  const ByteView in(data, size);
  auto blob = DecodeTreeBlob(in);
  if (!blob) {
    CAIRN_FUZZ_CHECK(blob.error().code() == ErrorCode::kCorruption);
  } else {
    const Bytes again = EncodeTreeBlob(*blob);
    auto back = DecodeTreeBlob(again);
    CAIRN_FUZZ_CHECK(back.has_value());
    CAIRN_FUZZ_CHECK(back->is_index == blob->is_index);
    CAIRN_FUZZ_CHECK(back->nodes == blob->nodes);
    CAIRN_FUZZ_CHECK(back->children == blob->children);
    CAIRN_FUZZ_CHECK(EncodeTreeBlob(*back) == again);
  }
  uint64_t visited = 0;
  Status s = ForEachNode(
      Id{}, [&](const Id&) -> Result<Bytes> { return Bytes(in.begin(), in.end()); },
      [&](Node&&) {
        ++visited;
        return Status::OK();
      });
  CAIRN_FUZZ_CHECK(s.ok() || s.code() == ErrorCode::kCorruption);
  if (s.ok()) CAIRN_FUZZ_CHECK(blob && !blob->is_index && visited == blob->nodes.size());
  return 0;
}
