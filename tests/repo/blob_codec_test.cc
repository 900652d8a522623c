#include "repo/blob_codec.h"
#include "tests/support/test_data.h"
#include "tests/support/test_keys.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include <cstring>
#include <random>

namespace cairn {
namespace {

Bytes TextData(size_t n) {
  static const char* const kWords[] = {"backup ", "cairn ", "chunk ", "pack ", "tree\n"};
  std::mt19937 rng(1);
  Bytes b;
  while (b.size() < n) Append(b, AsBytes(kWords[rng() % 5]));
  b.resize(n);
  return b;
}

// Seals an arbitrary payload (flag byte included) the way Encode would,
// to feed Decode what a buggy or malicious writer holding the key could.
Bytes SealPayload(const Crypto& crypto, BlobType type, const Id& id, ByteView payload) {
  Bytes aad = ToBytes("cairn.blob");
  aad.push_back(static_cast<uint8_t>(type));
  Append(aad, id.view());
  Bytes stored;
  crypto.Seal(payload, aad, stored);
  return stored;
}

class BlobCodecTest : public ::testing::Test {
 protected:
  Crypto crypto_{test::FixedKeys(1)};
  BlobCodec codec_{crypto_, 3};
};

TEST_F(BlobCodecTest, TypeNames) {
  EXPECT_EQ(BlobTypeName(BlobType::kData), "data");
  EXPECT_EQ(BlobTypeName(BlobType::kTree), "tree");
}

TEST_F(BlobCodecTest, CompressibleRoundTripIsCompressed) {
  const Bytes plain = TextData(200000);
  const Id id = crypto_.BlobId(plain);
  Bytes stored;
  codec_.Encode(BlobType::kData, id, plain, stored);
  EXPECT_LT(stored.size(), plain.size() / 4);
  Bytes out;
  ASSERT_TRUE(codec_.Decode(BlobType::kData, id, stored, out).ok());
  EXPECT_EQ(out, plain);
}

TEST_F(BlobCodecTest, IncompressibleDataIsStoredRaw) {
  const Bytes plain = test::RandomBytes(100000, 2);
  const Id id = crypto_.BlobId(plain);
  Bytes stored;
  codec_.Encode(BlobType::kData, id, plain, stored);
  EXPECT_EQ(stored.size(), plain.size() + 1 + Crypto::kOverhead);  // flag 0, no frame
  Bytes out;
  ASSERT_TRUE(codec_.Decode(BlobType::kData, id, stored, out).ok());
  EXPECT_EQ(out, plain);
}

TEST_F(BlobCodecTest, LevelZeroNeverCompresses) {
  BlobCodec plain_codec(crypto_, 0);
  const Bytes plain = TextData(10000);
  const Id id = crypto_.BlobId(plain);
  Bytes stored, out;
  plain_codec.Encode(BlobType::kTree, id, plain, stored);
  EXPECT_EQ(stored.size(), plain.size() + 1 + Crypto::kOverhead);
  ASSERT_TRUE(codec_.Decode(BlobType::kTree, id, stored, out).ok());  // any codec decodes
  EXPECT_EQ(out, plain);
}

TEST_F(BlobCodecTest, EmptyAndTinyInputs) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{63}, size_t{64}, size_t{65}}) {
    const Bytes plain(n, 'a');
    const Id id = crypto_.BlobId(plain);
    Bytes stored, out;
    codec_.Encode(BlobType::kData, id, plain, stored);
    ASSERT_TRUE(codec_.Decode(BlobType::kData, id, stored, out).ok()) << n;
    EXPECT_EQ(out, plain) << n;
  }
}

TEST_F(BlobCodecTest, AppendsAndReusesStateAcrossCalls) {
  // One codec, alternating sizes and kinds: scratch and contexts are reused.
  Bytes stored = ToBytes("head");
  std::vector<std::pair<Bytes, size_t>> blobs;  // plaintext, offset in stored
  for (int i = 0; i < 20; ++i) {
    Bytes plain = i % 2 ? test::RandomBytes(1000 * static_cast<size_t>(i), static_cast<uint64_t>(i))
                        : TextData(5000 * static_cast<size_t>(20 - i));
    blobs.emplace_back(std::move(plain), stored.size());
    codec_.Encode(BlobType::kData, crypto_.BlobId(blobs.back().first), blobs.back().first, stored);
  }
  EXPECT_EQ(ToString(ByteView(stored.data(), 4)), "head");
  for (size_t i = 0; i < blobs.size(); ++i) {
    const size_t end = i + 1 < blobs.size() ? blobs[i + 1].second : stored.size();
    const ByteView one(stored.data() + blobs[i].second, end - blobs[i].second);
    Bytes out = ToBytes("x");
    ASSERT_TRUE(codec_.Decode(BlobType::kData, crypto_.BlobId(blobs[i].first), one, out).ok());
    EXPECT_EQ(Bytes(out.begin() + 1, out.end()), blobs[i].first) << i;
  }
}

TEST_F(BlobCodecTest, TypeOrIdSwapIsDetected) {
  const Bytes a = TextData(3000), b = test::RandomBytes(3000, 3);
  const Id id_a = crypto_.BlobId(a), id_b = crypto_.BlobId(b);
  Bytes stored;
  codec_.Encode(BlobType::kData, id_a, a, stored);
  Bytes out = ToBytes("keep");
  Status s = codec_.Decode(BlobType::kTree, id_a, stored, out);
  EXPECT_EQ(s.code(), ErrorCode::kCorruption);
  EXPECT_NE(s.message().find("authentication failed"), std::string::npos) << s.message();
  EXPECT_EQ(codec_.Decode(BlobType::kData, id_b, stored, out).code(), ErrorCode::kCorruption);
  EXPECT_EQ(ToString(out), "keep");
}

TEST_F(BlobCodecTest, CorruptionAndWrongKeyAreDetected) {
  const Bytes plain = TextData(5000);
  const Id id = crypto_.BlobId(plain);
  Bytes stored;
  codec_.Encode(BlobType::kData, id, plain, stored);
  for (size_t i : {size_t{0}, size_t{12}, size_t{13}, stored.size() / 2, stored.size() - 1}) {
    Bytes bad = stored;
    bad[i] ^= 0x40;
    Bytes out;
    EXPECT_EQ(codec_.Decode(BlobType::kData, id, bad, out).code(), ErrorCode::kCorruption) << i;
    EXPECT_TRUE(out.empty());
  }
  Bytes out;
  EXPECT_EQ(
      codec_.Decode(BlobType::kData, id, ByteView(stored).first(stored.size() - 1), out).code(),
      ErrorCode::kCorruption);
  Crypto other(test::FixedKeys(2));
  BlobCodec other_codec(other, 3);
  EXPECT_EQ(other_codec.Decode(BlobType::kData, id, stored, out).code(), ErrorCode::kCorruption);
  EXPECT_TRUE(out.empty());
}

TEST_F(BlobCodecTest, ObjectsRoundTripUnderTheirAad) {
  const Bytes plain = TextData(4000);
  Bytes stored, out;
  codec_.EncodeObject("cairn.snapshot", plain, stored);
  EXPECT_LT(stored.size(), plain.size());
  ASSERT_TRUE(codec_.DecodeObject("cairn.snapshot", stored, out).ok());
  EXPECT_EQ(out, plain);
  out.clear();
  EXPECT_EQ(codec_.DecodeObject("cairn.index", stored, out).code(), ErrorCode::kCorruption);
  EXPECT_TRUE(out.empty());
  stored.clear();
  codec_.EncodeObject("cairn.index", {}, stored);
  ASSERT_TRUE(codec_.DecodeObject("cairn.index", stored, out).ok());
  EXPECT_TRUE(out.empty());
}

// DecodeObjectInPlace gives what DecodeObject gives, for raw and for
// compressed objects, replacing the stored bytes; a raw object reuses the
// stored buffer (no second one of its size).
TEST_F(BlobCodecTest, ObjectsDecodeInPlace) {
  for (const Bytes& plain : {TextData(100000), test::RandomBytes(100000, 3), Bytes{}}) {
    Bytes stored;
    codec_.EncodeObject("cairn.index", plain, stored);
    Bytes expected;
    ASSERT_TRUE(codec_.DecodeObject("cairn.index", stored, expected).ok());
    Bytes buf = stored;
    const uint8_t* before = buf.data();
    ASSERT_TRUE(codec_.DecodeObjectInPlace("cairn.index", buf).ok());
    EXPECT_EQ(buf, plain);
    EXPECT_EQ(buf, expected);
    if (stored.size() > plain.size()) {  // stored raw
      EXPECT_EQ(buf.data(), before);
    }
    buf = stored;
    EXPECT_EQ(codec_.DecodeObjectInPlace("cairn.snapshot", buf).code(), ErrorCode::kCorruption);
    buf = stored;
    buf[buf.size() / 2] ^= 1;
    EXPECT_EQ(codec_.DecodeObjectInPlace("cairn.index", buf).code(), ErrorCode::kCorruption);
  }
  // A sealed payload with no flag, or an unknown one, is refused as by Decode.
  for (const Bytes& payload : {Bytes{}, Bytes{7, 1, 2}}) {
    Bytes buf;
    crypto_.Seal(payload, AsBytes("cairn.index"), buf);
    EXPECT_EQ(codec_.DecodeObjectInPlace("cairn.index", buf).code(), ErrorCode::kCorruption);
  }
}

TEST_F(BlobCodecTest, DecompressionBombIsRejected) {
  // A real zstd frame whose header declares 1 TiB, sealed with the right key
  // and AAD: Decode must refuse from the header, before allocating.
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ASSERT_EQ(ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(cctx, 1ull << 40)), 0u);
  const Bytes zeros(1 << 20, 0);
  Bytes payload(1 + ZSTD_compressBound(zeros.size()));
  payload[0] = 1;
  ZSTD_inBuffer in{zeros.data(), zeros.size(), 0};
  ZSTD_outBuffer zout{payload.data() + 1, payload.size() - 1, 0};
  ASSERT_EQ(ZSTD_isError(ZSTD_compressStream2(cctx, &zout, &in, ZSTD_e_flush)), 0u);
  ZSTD_freeCCtx(cctx);
  payload.resize(1 + zout.pos);
  ASSERT_EQ(ZSTD_getFrameContentSize(payload.data() + 1, zout.pos), 1ull << 40);

  const Id id = crypto_.BlobId(zeros);
  const Bytes stored = SealPayload(crypto_, BlobType::kData, id, payload);
  Bytes out = ToBytes("keep");
  Status s = codec_.Decode(BlobType::kData, id, stored, out);
  EXPECT_EQ(s.code(), ErrorCode::kCorruption);
  EXPECT_NE(s.message().find("limit"), std::string::npos) << s.message();
  EXPECT_EQ(ToString(out), "keep");
  EXPECT_LT(out.capacity(), size_t{1} << 20);
}

TEST_F(BlobCodecTest, FramesWithoutSizeOrWithExtraContentAreRejected) {
  const Bytes plain = TextData(10000);
  const Id id = crypto_.BlobId(plain);
  auto frame = [&](ByteView data, bool with_size) {
    ZSTD_CCtx* c = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, with_size ? 1 : 0);
    Bytes f(ZSTD_compressBound(data.size()));
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    ZSTD_outBuffer o{f.data(), f.size(), 0};
    // Streaming with an unknown total size leaves the size out of the header.
    EXPECT_EQ(ZSTD_compressStream2(c, &o, &in, ZSTD_e_end), 0u);
    ZSTD_freeCCtx(c);
    f.resize(o.pos);
    return f;
  };
  Bytes no_size{1};
  Append(no_size, frame(plain, false));
  ASSERT_EQ(ZSTD_getFrameContentSize(no_size.data() + 1, no_size.size() - 1),
            ZSTD_CONTENTSIZE_UNKNOWN);
  Bytes out;
  EXPECT_EQ(
      codec_.Decode(BlobType::kData, id, SealPayload(crypto_, BlobType::kData, id, no_size), out)
          .code(),
      ErrorCode::kCorruption);

  // Two frames: the first declares 10000 bytes, the second adds 10000 more.
  Bytes two{1};
  Append(two, frame(plain, true));
  Append(two, frame(plain, true));
  EXPECT_EQ(codec_.Decode(BlobType::kData, id, SealPayload(crypto_, BlobType::kData, id, two), out)
                .code(),
            ErrorCode::kCorruption);

  Bytes bad_flag{2};
  Append(bad_flag, plain);
  EXPECT_EQ(
      codec_.Decode(BlobType::kData, id, SealPayload(crypto_, BlobType::kData, id, bad_flag), out)
          .code(),
      ErrorCode::kCorruption);
  EXPECT_EQ(
      codec_.Decode(BlobType::kData, id, SealPayload(crypto_, BlobType::kData, id, {}), out).code(),
      ErrorCode::kCorruption);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace cairn
