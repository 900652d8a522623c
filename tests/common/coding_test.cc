#include "common/coding.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>

#include "common/hex.h"
#include "common/id.h"

namespace cairn {
namespace {

TEST(CodingTest, VarintRoundTrip) {
  Bytes b;
  const uint64_t values[] = {0, 1, 127, 128, 300, 1ull << 32, std::numeric_limits<uint64_t>::max()};
  for (uint64_t v : values) PutVarint64(b, v);
  const int64_t svalues[] = {0, -1, 1, -64, 64, std::numeric_limits<int64_t>::min(),
                             std::numeric_limits<int64_t>::max()};
  for (int64_t v : svalues) PutVarsint64(b, v);
  Reader r(b);
  for (uint64_t v : values) {
    uint64_t got;
    ASSERT_TRUE(r.Varint64(&got));
    EXPECT_EQ(got, v);
  }
  for (int64_t v : svalues) {
    int64_t got;
    ASSERT_TRUE(r.Varsint64(&got));
    EXPECT_EQ(got, v);
  }
  EXPECT_TRUE(r.empty());
}

TEST(CodingTest, TruncatedInputFailsWithoutOverread) {
  Bytes b;
  PutVarint64(b, 1ull << 40);
  PutLengthPrefixed(b, std::string_view("hello"));
  for (size_t cut = 0; cut < b.size(); ++cut) {
    Reader r(ByteView(b.data(), cut));
    uint64_t v;
    std::string s;
    bool ok = r.Varint64(&v) && r.LengthPrefixed(&s);
    EXPECT_FALSE(ok) << cut;
  }
  Bytes overlong(11, 0x80);
  Reader r(overlong);
  uint64_t v;
  EXPECT_FALSE(r.Varint64(&v));
}

TEST(CodingTest, FixedLittleEndian) {
  Bytes b;
  PutFixed32(b, 0x01020304);
  PutFixed64(b, 0x0102030405060708ull);
  EXPECT_EQ(ToHex(b), "040302010807060504030201");
  EXPECT_EQ(DecodeFixed32(b.data()), 0x01020304u);
  EXPECT_EQ(DecodeFixed64(b.data() + 4), 0x0102030405060708ull);
}

TEST(CodingTest, BigEndianSortsNumerically) {
  Bytes b;
  PutBigEndian64(b, 0x0102030405060708ull);
  EXPECT_EQ(ToHex(b), "0102030405060708");
  EXPECT_EQ(DecodeBigEndian64(b.data()), 0x0102030405060708ull);
  uint8_t lo[8], hi[8], le[8];
  EncodeBigEndian64(255, lo);
  EncodeBigEndian64(256, hi);
  EXPECT_LT(std::memcmp(lo, hi, 8), 0);  // what LMDB's default key order sees
  EncodeFixed64(0x0102030405060708ull, le);
  EXPECT_EQ(DecodeFixed64(le), 0x0102030405060708ull);
  EXPECT_EQ(le[0], 0x08);
}

TEST(CodingTest, HexAndId) {
  EXPECT_EQ(ToHex(AsBytes("\x01\xab")), "01ab");
  EXPECT_FALSE(FromHex("abc"));
  EXPECT_FALSE(FromHex("zz"));
  std::string h(64, 'a');
  auto id = Id::FromHex(h);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->Hex(), h);
  EXPECT_EQ(id->Short(), "aaaaaaaa");
  EXPECT_FALSE(Id::FromHex("aa"));
  EXPECT_TRUE(Id().IsZero());
}

}  // namespace
}  // namespace cairn
