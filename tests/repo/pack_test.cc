// Packs: builder layout, header round trips, and every way a stored pack can
// be damaged (each must give Corruption naming the pack).
#include "repo/pack.h"

#include <gtest/gtest.h>

#include <random>

#include "common/coding.h"
#include "repo/crypto.h"
#include "tests/support/test_data.h"

namespace cairn {
namespace {

MasterKeys TestKeys(uint8_t seed) {
  MasterKeys k;
  for (size_t i = 0; i < 32; ++i) {
    k.encryption[i] = static_cast<uint8_t>(seed + i);
    k.mac[i] = static_cast<uint8_t>(seed * 3 + i);
  }
  return k;
}

class PackTest : public ::testing::Test {
 protected:
  // Builds a pack of `count` blobs of random plaintext (every third a tree).
  FinishedPack Build(size_t count, size_t blob_size = 100) {
    PackBuilder builder(1 << 20);
    for (size_t i = 0; i < count; ++i) {
      Bytes plain = test::RandomBytes(blob_size + i % 7, i);
      const BlobType type = i % 3 == 2 ? BlobType::kTree : BlobType::kData;
      const Id id = crypto_.BlobId(plain);
      Bytes stored;
      codec_.Encode(type, id, plain, stored);
      builder.Add(type, id, stored, static_cast<uint32_t>(plain.size()));
    }
    return builder.Finish(codec_);
  }

  // Reads the header of `pack` (bytes as given) and counts the fetches.
  Result<std::vector<PackEntry>> Read(const Id& id, const Bytes& pack, int* fetches = nullptr) {
    return ReadPackHeader(codec_, id, pack.size(),
                          [&](uint64_t off, uint64_t len) -> Result<Bytes> {
                            if (fetches) ++*fetches;
                            EXPECT_LE(off + len, pack.size());
                            return Bytes(pack.begin() + static_cast<ptrdiff_t>(off),
                                         pack.begin() + static_cast<ptrdiff_t>(off + len));
                          });
  }

  void ExpectCorruptNamed(const Result<std::vector<PackEntry>>& r, const Id& id) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), ErrorCode::kCorruption) << r.error().message();
    EXPECT_EQ(r.error().message().rfind("pack " + id.Short() + ": ", 0), 0u) << r.error().message();
  }

  Crypto crypto_{TestKeys(7)};
  BlobCodec codec_{crypto_, 3};
};

TEST_F(PackTest, Key) {
  Id id = *Id::FromHex("3f9a1b2c00000000000000000000000000000000000000000000000000000001");
  EXPECT_EQ(PackKey(id), "packs/3f/" + id.Hex());
}

TEST_F(PackTest, HeaderEncodingRoundTrips) {
  std::vector<PackEntry> entries = {
      {Id{}, BlobType::kData, 0, 10, 20},
      {crypto_.BlobId(AsBytes("x")), BlobType::kTree, 10, 90, UINT32_MAX},
  };
  const Bytes plain = EncodePackHeader(entries);
  EXPECT_EQ(plain.size(), 2u + 2 * 45);  // version, count, 45 bytes per entry
  EXPECT_EQ(plain[0], 1);
  EXPECT_EQ(plain[2], 0);                            // first type
  EXPECT_EQ(DecodeFixed32(plain.data() + 35), 0u);   // first offset
  EXPECT_EQ(DecodeFixed32(plain.data() + 39), 10u);  // first length
  EXPECT_EQ(DecodeFixed32(plain.data() + 43), 20u);  // first raw length
  auto d = DecodePackHeader(plain, 100);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(*d, entries);
  EXPECT_EQ(EncodePackHeader(*d), plain);
  auto empty = DecodePackHeader(EncodePackHeader({}), 0);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST_F(PackTest, HeaderDecodingRejectsBadInput) {
  std::vector<PackEntry> entries = {{Id{}, BlobType::kData, 0, 10, 20},
                                    {Id{}, BlobType::kTree, 10, 90, 5}};
  const Bytes plain = EncodePackHeader(entries);
  auto corrupt = [](const Result<std::vector<PackEntry>>& r) {
    return !r && r.error().code() == ErrorCode::kCorruption;
  };
  EXPECT_TRUE(corrupt(DecodePackHeader(plain, 99)));  // last blob past the area
  EXPECT_TRUE(corrupt(DecodePackHeader(plain, 10)));  // second starts at the end
  for (size_t len = 0; len < plain.size(); ++len) {
    EXPECT_TRUE(corrupt(DecodePackHeader(ByteView(plain).first(len), 100))) << len;
  }
  Bytes b = plain;
  b.push_back(0);
  EXPECT_TRUE(corrupt(DecodePackHeader(b, 100)));  // trailing byte
  b = plain;
  b[0] = 2;
  EXPECT_TRUE(corrupt(DecodePackHeader(b, 100)));  // version
  b = plain;
  b[2] = 2;
  EXPECT_TRUE(corrupt(DecodePackHeader(b, 100)));  // blob type
  b = plain;
  b[1] = 3;
  EXPECT_TRUE(corrupt(DecodePackHeader(b, 100)));  // count
  const Bytes huge = {1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  EXPECT_TRUE(corrupt(DecodePackHeader(huge, 100)));
}

TEST_F(PackTest, BuilderLayoutAndHeaderReadBack) {
  FinishedPack pack = Build(50);
  ASSERT_EQ(pack.entries.size(), 50u);
  EXPECT_EQ(pack.id, Sha256(pack.bytes));
  // Blobs are back to back from offset 0, then header, then its length.
  uint32_t offset = 0;
  Bytes plain;
  for (const PackEntry& e : pack.entries) {
    EXPECT_EQ(e.offset, offset);
    offset += e.length;
    plain.clear();
    ASSERT_TRUE(
        codec_.Decode(e.type, e.id, ByteView(pack.bytes).subspan(e.offset, e.length), plain).ok());
    EXPECT_EQ(plain.size(), e.raw_length);
  }
  const uint32_t header_len = DecodeFixed32(pack.bytes.data() + pack.bytes.size() - 4);
  EXPECT_EQ(offset + header_len + 4u, pack.bytes.size());
  int fetches = 0;
  auto header = Read(pack.id, pack.bytes, &fetches);
  ASSERT_TRUE(header) << header.error().message();
  EXPECT_EQ(*header, pack.entries);
  EXPECT_EQ(fetches, 1);
}

TEST_F(PackTest, BuilderResetsAfterFinish) {
  PackBuilder builder;
  builder.Add(BlobType::kData, Id{}, AsBytes("stored bytes"), 3);
  EXPECT_EQ(builder.count(), 1u);
  EXPECT_FALSE(builder.empty());
  FinishedPack first = builder.Finish(codec_);
  EXPECT_TRUE(builder.empty());
  EXPECT_EQ(builder.size(), 0u);
  EXPECT_EQ(first.entries.size(), 1u);
  FinishedPack empty = builder.Finish(codec_);
  EXPECT_TRUE(empty.entries.empty());
  auto header = Read(empty.id, empty.bytes);
  ASSERT_TRUE(header) << header.error().message();
  EXPECT_TRUE(header->empty());
}

TEST_F(PackTest, LargeHeaderTakesASecondFetch) {
  FinishedPack pack = Build(3000, 40);  // ~135 KB of header, random ids: incompressible
  const uint32_t header_len = DecodeFixed32(pack.bytes.data() + pack.bytes.size() - 4);
  ASSERT_GT(header_len, 64u * 1024);
  int fetches = 0;
  auto header = Read(pack.id, pack.bytes, &fetches);
  ASSERT_TRUE(header) << header.error().message();
  EXPECT_EQ(*header, pack.entries);
  EXPECT_EQ(fetches, 2);
  // A pack that is all header (no blobs) and larger than the first read.
  Bytes solo = pack.bytes;
  solo.erase(solo.begin(), solo.end() - header_len - 4);
  auto r = Read(pack.id, solo);
  ExpectCorruptNamed(r, pack.id);  // the entries now lie outside the blob area
}

TEST_F(PackTest, FlippedHeaderOrTrailerByteIsCorruption) {
  FinishedPack pack = Build(20);
  const size_t header_len = DecodeFixed32(pack.bytes.data() + pack.bytes.size() - 4);
  const size_t header_start = pack.bytes.size() - 4 - header_len;
  for (size_t at = header_start; at < pack.bytes.size(); ++at) {
    for (uint8_t bit : {uint8_t{0x01}, uint8_t{0x80}}) {
      Bytes b = pack.bytes;
      b[at] ^= bit;
      ExpectCorruptNamed(Read(pack.id, b), pack.id);
    }
  }
}

TEST_F(PackTest, TruncatedPackIsCorruption) {
  FinishedPack pack = Build(20);
  for (size_t len : {size_t{0}, size_t{3}, size_t{30}, pack.bytes.size() / 2, pack.bytes.size() - 5,
                     pack.bytes.size() - 1}) {
    Bytes b(pack.bytes.begin(), pack.bytes.begin() + static_cast<ptrdiff_t>(len));
    ExpectCorruptNamed(Read(pack.id, b), pack.id);
  }
  // A pack whose front was cut off keeps a valid header that points outside.
  Bytes cut(pack.bytes.begin() + 100, pack.bytes.end());
  ExpectCorruptNamed(Read(pack.id, cut), pack.id);
}

TEST_F(PackTest, WrongKeyIsCorruption) {
  FinishedPack pack = Build(5);
  Crypto other(TestKeys(8));
  BlobCodec other_codec(other, 3);
  auto r = ReadPackHeader(other_codec, pack.id, pack.bytes.size(),
                          [&](uint64_t off, uint64_t len) -> Result<Bytes> {
                            return Bytes(pack.bytes.begin() + static_cast<ptrdiff_t>(off),
                                         pack.bytes.begin() + static_cast<ptrdiff_t>(off + len));
                          });
  ExpectCorruptNamed(r, pack.id);
}

TEST_F(PackTest, FetchErrorsAndShortReads) {
  FinishedPack pack = Build(5);
  auto failing = [](uint64_t, uint64_t) -> Result<Bytes> {
    return Err(Status::Transient("503 slow down"));
  };
  auto r = ReadPackHeader(codec_, pack.id, pack.bytes.size(), failing);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kTransient);  // retryable, not corruption
  auto short_read = [&](uint64_t off, uint64_t len) -> Result<Bytes> {
    return Bytes(pack.bytes.begin() + static_cast<ptrdiff_t>(off),
                 pack.bytes.begin() + static_cast<ptrdiff_t>(off + len - 1));
  };
  ExpectCorruptNamed(ReadPackHeader(codec_, pack.id, pack.bytes.size(), short_read), pack.id);
  // The store holds fewer bytes than the caller believes.
  ExpectCorruptNamed(
      ReadPackHeader(codec_, pack.id, pack.bytes.size() + 10,
                     [&](uint64_t, uint64_t) -> Result<Bytes> { return pack.bytes; }),
      pack.id);
}

}  // namespace
}  // namespace cairn
