// Fuzz target for pack headers. The first input byte picks the mode:
//   even: bytes 1..4 are the blob area size (u32 LE), the rest a header
//         plaintext for DecodePackHeader;
//   odd:  the rest is a whole pack, read with ReadPackHeader under fixed
//         all-zero keys (the seed corpus holds packs sealed with them, so
//         mutations reach the trailer, the second fetch and the parser).
// Either must succeed or fail with Corruption, never read outside its input.
#include "common/coding.h"
#include "repo/crypto.h"
#include "repo/pack.h"
#include "tests/fuzz/fuzz_entry.h"

namespace {

cairn::BlobCodec& FuzzCodec() {
  static const cairn::Crypto crypto(cairn::MasterKeys{});
  static cairn::BlobCodec codec(crypto, 0);
  return codec;
}

void CheckEntries(const std::vector<cairn::PackEntry>& entries, uint64_t area) {
  for (const cairn::PackEntry& e : entries) {
    CAIRN_FUZZ_CHECK(e.offset < area && uint64_t{e.offset} + e.length <= area);
  }
}

}  // namespace

extern "C" int CAIRN_FUZZ_ENTRY(const uint8_t* data, size_t size) {
  using namespace cairn;
  if (size < 1) return 0;
  const ByteView in(data + 1, size - 1);
  if ((data[0] & 1) == 0) {
    if (in.size() < 4) return 0;
    const uint64_t area = DecodeFixed32(in.data());
    auto entries = DecodePackHeader(in.subspan(4), area);
    if (!entries) {
      CAIRN_FUZZ_CHECK(entries.error().code() == ErrorCode::kCorruption);
      return 0;
    }
    CheckEntries(*entries, area);
    auto back = DecodePackHeader(EncodePackHeader(*entries), area);
    CAIRN_FUZZ_CHECK(back && *back == *entries);
    return 0;
  }
  int fetches = 0;
  auto entries = ReadPackHeader(FuzzCodec(), Id{}, in.size(),
                                [&](uint64_t off, uint64_t len) -> Result<Bytes> {
                                  ++fetches;
                                  CAIRN_FUZZ_CHECK(off <= in.size() && len <= in.size() - off);
                                  return Bytes(in.begin() + static_cast<ptrdiff_t>(off),
                                               in.begin() + static_cast<ptrdiff_t>(off + len));
                                });
  CAIRN_FUZZ_CHECK(fetches <= 2);
  if (!entries) {
    CAIRN_FUZZ_CHECK(entries.error().code() == ErrorCode::kCorruption);
    CAIRN_FUZZ_CHECK(entries.error().message().rfind("pack ", 0) == 0);
    return 0;
  }
  CheckEntries(*entries, in.size());
  return 0;
}
