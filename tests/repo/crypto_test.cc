#include "repo/crypto.h"

#include <gtest/gtest.h>

#include <random>
#include <thread>
#include <vector>

#include "common/hex.h"
#include "tests/support/test_keys.h"

namespace cairn {
namespace {

Bytes Hex(std::string_view h) {
  auto b = FromHex(h);
  EXPECT_TRUE(b.has_value()) << h;
  return b.value_or(Bytes{});
}

Key32 KeyFrom(ByteView prefix) {  // zero-padded, as HMAC pads short keys
  Key32 k{};
  std::copy(prefix.begin(), prefix.end(), k.begin());
  return k;
}

Bytes Pseudorandom(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

TEST(Sha256Test, KnownAnswers) {
  EXPECT_EQ(Sha256(AsBytes("abc")).Hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256({}).Hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256Test, StreamEqualsOneShotOverAnySplit) {
  const Bytes data = Pseudorandom(10000, 1);
  const Id want = Sha256(data);
  Sha256Stream s;
  for (size_t split : {size_t{0}, size_t{1}, size_t{63}, size_t{64}, size_t{65}, size_t{9999}}) {
    s.Update(ByteView(data.data(), split));
    s.Update(ByteView(data.data() + split, data.size() - split));
    EXPECT_EQ(s.Finish(), want) << "split at " << split;  // Finish resets for reuse
  }
  for (size_t i = 0; i < data.size(); i += 7) {
    s.Update(ByteView(data.data() + i, std::min<size_t>(7, data.size() - i)));
  }
  EXPECT_EQ(s.Finish(), want);
  EXPECT_EQ(s.Finish(), Sha256({}));
}

TEST(HmacTest, Rfc4231Case1) {
  const Bytes key(20, 0x0b);
  EXPECT_EQ(HmacSha256(KeyFrom(key), AsBytes("Hi There")).Hex(),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(HmacTest, Rfc4231Case2) {
  EXPECT_EQ(HmacSha256(KeyFrom(AsBytes("Jefe")), AsBytes("what do ya want for nothing?")).Hex(),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacTest, BlobIdIsHmacUnderTheMacKey) {
  const MasterKeys keys = test::FixedKeys(1);
  Crypto crypto(keys);
  const Bytes data = Pseudorandom(5000, 2);
  EXPECT_EQ(crypto.BlobId(data), HmacSha256(keys.mac, data));
  EXPECT_EQ(crypto.BlobId({}), HmacSha256(keys.mac, {}));
  EXPECT_NE(crypto.BlobId(data), Sha256(data));
  Crypto other(test::FixedKeys(2));
  EXPECT_NE(crypto.BlobId(data), other.BlobId(data));
}

TEST(HmacTest, BlobIdIsThreadSafe) {
  Crypto crypto(test::FixedKeys(3));
  const Bytes data = Pseudorandom(4096, 3);
  const Id want = HmacSha256(crypto.keys().mac, data);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) mismatches[t] += crypto.BlobId(data) != want;
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

TEST(ScryptTest, Rfc7914Vector1) {
  auto k = Scrypt("", {}, ScryptParams{16, 1, 1});
  ASSERT_TRUE(k) << k.error().message();
  // RFC 7914 lists 64 bytes; the first 32 are the first PBKDF2 block.
  EXPECT_EQ(ToHex(*k), "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442");
}

TEST(ScryptTest, Rfc7914Vector2) {
  auto k = Scrypt("password", AsBytes("NaCl"), ScryptParams{1024, 8, 16});
  ASSERT_TRUE(k) << k.error().message();
  EXPECT_EQ(ToHex(*k), "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162");
}

TEST(ScryptTest, RejectsBadParameters) {
  for (ScryptParams p : {ScryptParams{1000, 8, 1}, ScryptParams{0, 8, 1}, ScryptParams{1, 8, 1},
                         ScryptParams{1024, 0, 1}, ScryptParams{1024, 8, 0},
                         ScryptParams{uint64_t{1} << 24, 8, 1}}) {  // 16 GiB: over the cap
    auto k = Scrypt("pw", AsBytes("salt"), p);
    ASSERT_FALSE(k) << "n=" << p.n << " r=" << p.r << " p=" << p.p;
    EXPECT_EQ(k.error().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(ScryptTest, DefaultParamsWorkAndDependOnSalt) {
  auto a = Scrypt("pw", AsBytes("salt1"), ScryptParams{});
  auto b = Scrypt("pw", AsBytes("salt2"), ScryptParams{});
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
}

TEST(RandomTest, FillsAndDiffers) {
  uint8_t a[64] = {}, b[64] = {};
  RandomBytes(a);
  RandomBytes(b);
  EXPECT_NE(std::memcmp(a, b, sizeof(a)), 0);
  RandomBytes({});  // empty is fine
  MasterKeys k1 = NewMasterKeys(), k2 = NewMasterKeys();
  EXPECT_NE(k1.encryption, k2.encryption);
  EXPECT_NE(k1.encryption, k1.mac);
}

TEST(GcmTest, NistTestCase14DecryptsInOurLayout) {
  // McGrew & Viega GCM test case 14: AES-256, zero key and IV, 16 zero bytes.
  Bytes sealed(12, 0);
  Append(sealed, Hex("cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919"));
  Bytes out;
  ASSERT_TRUE(OpenWithKey(Key32{}, sealed, {}, out).ok());
  EXPECT_EQ(out, Bytes(16, 0));
}

TEST(GcmTest, RoundTripAppendsAfterExistingBytes) {
  Crypto crypto(test::FixedKeys(4));
  for (size_t n : {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{100000}}) {
    const Bytes plain = Pseudorandom(n, n);
    Bytes sealed = ToBytes("prefix");
    crypto.Seal(plain, AsBytes("aad"), sealed);
    ASSERT_EQ(sealed.size(), 6 + n + Crypto::kOverhead);
    EXPECT_EQ(ToString(ByteView(sealed.data(), 6)), "prefix");
    Bytes out = ToBytes("xy");
    ASSERT_TRUE(crypto.Open(ByteView(sealed).subspan(6), AsBytes("aad"), out).ok());
    EXPECT_EQ(ToString(ByteView(out.data(), 2)), "xy");
    EXPECT_EQ(Bytes(out.begin() + 2, out.end()), plain) << n;
  }
}

TEST(GcmTest, FreshNonceEverySeal) {
  Crypto crypto(test::FixedKeys(5));
  Bytes a, b;
  crypto.Seal(AsBytes("same"), {}, a);
  crypto.Seal(AsBytes("same"), {}, b);
  EXPECT_NE(a, b);
  EXPECT_NE(Bytes(a.begin(), a.begin() + 12), Bytes(b.begin(), b.begin() + 12));
}

TEST(GcmTest, EveryTamperedByteIsDetectedAndOutIsUnchanged) {
  Crypto crypto(test::FixedKeys(6));
  const Bytes plain = Pseudorandom(40, 6);
  Bytes sealed;
  crypto.Seal(plain, AsBytes("ctx"), sealed);
  // Positions 0..11 are the nonce, 12..51 the body, 52..67 the tag.
  for (size_t i = 0; i < sealed.size(); ++i) {
    for (uint8_t flip : {uint8_t{0x01}, uint8_t{0x80}}) {
      Bytes bad = sealed;
      bad[i] ^= flip;
      Bytes out = ToBytes("keep");
      Status s = crypto.Open(bad, AsBytes("ctx"), out);
      EXPECT_EQ(s.code(), ErrorCode::kCorruption) << "byte " << i;
      EXPECT_EQ(ToString(out), "keep") << "byte " << i;
    }
  }
}

TEST(GcmTest, WrongAadOrKeyIsDetected) {
  const MasterKeys keys = test::FixedKeys(7);
  Crypto crypto(keys);
  Bytes sealed;
  crypto.Seal(AsBytes("secret"), AsBytes("tree"), sealed);
  Bytes out;
  EXPECT_EQ(crypto.Open(sealed, AsBytes("data"), out).code(), ErrorCode::kCorruption);
  EXPECT_EQ(crypto.Open(sealed, {}, out).code(), ErrorCode::kCorruption);
  EXPECT_EQ(crypto.Open(sealed, AsBytes("tree "), out).code(), ErrorCode::kCorruption);
  Crypto other(test::FixedKeys(8));
  EXPECT_EQ(other.Open(sealed, AsBytes("tree"), out).code(), ErrorCode::kCorruption);
  EXPECT_TRUE(out.empty());
  Status s = OpenWithKey(keys.mac, sealed, AsBytes("tree"), out);
  EXPECT_EQ(s.code(), ErrorCode::kCorruption);
  EXPECT_NE(s.message().find("authentication failed"), std::string::npos) << s.message();
}

TEST(GcmTest, TruncatedOrExtendedInputIsRejected) {
  Crypto crypto(test::FixedKeys(9));
  Bytes sealed;
  crypto.Seal(AsBytes("some plaintext"), {}, sealed);
  for (size_t n = 0; n < sealed.size(); ++n) {
    Bytes out = ToBytes("keep");
    EXPECT_EQ(crypto.Open(ByteView(sealed.data(), n), {}, out).code(), ErrorCode::kCorruption) << n;
    EXPECT_EQ(ToString(out), "keep");
  }
  Bytes longer = sealed;
  longer.push_back(0);
  Bytes out;
  EXPECT_EQ(crypto.Open(longer, {}, out).code(), ErrorCode::kCorruption);
  EXPECT_TRUE(out.empty());
}

TEST(GcmTest, SealWithKeyUsesTheSameLayout) {
  const MasterKeys keys = test::FixedKeys(10);
  Crypto crypto(keys);
  Bytes a, b, out;
  SealWithKey(keys.encryption, AsBytes("wrapped"), AsBytes("key"), a);
  ASSERT_TRUE(crypto.Open(a, AsBytes("key"), out).ok());
  EXPECT_EQ(ToString(out), "wrapped");
  crypto.Seal(AsBytes("blob"), AsBytes("k"), b);
  out.clear();
  ASSERT_TRUE(OpenWithKey(keys.encryption, b, AsBytes("k"), out).ok());
  EXPECT_EQ(ToString(out), "blob");
  out.clear();
  EXPECT_FALSE(OpenWithKey(keys.mac, b, AsBytes("k"), out).ok());
}

}  // namespace
// OpenInPlace decrypts where the sealed bytes lie: the plaintext is the
// span after the nonce, and it rejects what Open rejects.
TEST(GcmTest, OpenInPlaceMatchesOpen) {
  Crypto crypto(test::FixedKeys(11));
  for (size_t n : {size_t{0}, size_t{1}, size_t{17}, size_t{100000}}) {
    const Bytes plain = Pseudorandom(n, n + 1);
    Bytes sealed;
    crypto.Seal(plain, AsBytes("obj"), sealed);
    Bytes buf = sealed;
    auto opened = crypto.OpenInPlace(buf, AsBytes("obj"));
    ASSERT_TRUE(opened) << opened.error().message();
    EXPECT_EQ(opened->data(), buf.data() + Crypto::kNonceSize);
    EXPECT_EQ(Bytes(opened->begin(), opened->end()), plain) << n;
    for (size_t i : {size_t{0}, Crypto::kNonceSize + n / 2, sealed.size() - 1}) {
      Bytes bad = sealed;
      bad[i] ^= 0x40;
      EXPECT_EQ(crypto.OpenInPlace(bad, AsBytes("obj")).error().code(), ErrorCode::kCorruption)
          << "n " << n << " byte " << i;
    }
    buf = sealed;
    EXPECT_EQ(crypto.OpenInPlace(buf, AsBytes("other")).error().code(), ErrorCode::kCorruption);
  }
  Bytes short_input(Crypto::kOverhead - 1, 0);
  auto r = crypto.OpenInPlace(short_input, {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("too short"), std::string::npos) << r.error().message();
}

}  // namespace cairn
