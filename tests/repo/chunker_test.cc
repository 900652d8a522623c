#include "repo/chunker.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <set>
#include <vector>

#include "common/coding.h"
#include "tests/support/test_data.h"

namespace cairn {
namespace {

constexpr ChunkerParams kSmall{4 * 1024, 16 * 1024, 64 * 1024};

Key32 TestKey(uint8_t seed) {
  Key32 k;
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(seed * 7 + i);
  return k;
}

// Chunk lengths of the whole of data, feeding NextCut as a stream reader
// would: the rest of the data, however long.
std::vector<size_t> Chunk(const Chunker& c, ByteView data) {
  std::vector<size_t> lens;
  size_t pos = 0;
  while (pos < data.size()) {
    const size_t n = c.NextCut(data.subspan(pos));
    EXPECT_GT(n, 0u);
    EXPECT_LE(n, data.size() - pos);
    if (n == 0) break;
    lens.push_back(n);
    pos += n;
  }
  return lens;
}

void ExpectWithinBounds(const std::vector<size_t>& lens, const ChunkerParams& p) {
  for (size_t i = 0; i + 1 < lens.size(); ++i) {
    ASSERT_GE(lens[i], p.min_size) << "chunk " << i;
    ASSERT_LE(lens[i], p.max_size) << "chunk " << i;
  }
  if (!lens.empty()) {
    EXPECT_LE(lens.back(), p.max_size);
  }
}

double MeanOfAllButLast(const std::vector<size_t>& lens) {
  double sum = 0;
  for (size_t i = 0; i + 1 < lens.size(); ++i) sum += static_cast<double>(lens[i]);
  return sum / static_cast<double>(lens.size() - 1);
}

TEST(ChunkerParamsTest, Validation) {
  EXPECT_TRUE(ValidateChunkerParams(ChunkerParams{}).ok());
  EXPECT_TRUE(ValidateChunkerParams(kSmall).ok());
  EXPECT_TRUE(ValidateChunkerParams({64, 128, 64u << 20}).ok());
  const ChunkerParams bad[] = {
      {63, 128, 1024},               // min below 64
      {1024, 1024, 4096},            // min == avg
      {2048, 1024, 4096},            // min > avg
      {512, 4096, 4096},             // avg == max
      {512, 3000, 8192},             // avg not a power of two
      {512, 1024, (64u << 20) + 1},  // max over 64 MiB
      {0, 0, 0},
  };
  for (const ChunkerParams& p : bad) {
    Status s = ValidateChunkerParams(p);
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument)
        << p.min_size << "/" << p.avg_size << "/" << p.max_size;
  }
}

TEST(GearTableTest, DerivedFromTheMacKeyAsDocumented) {
  const Key32 key = TestKey(1);
  const GearTable gear = DeriveGearTable(key);
  EXPECT_EQ(gear, DeriveGearTable(key));
  EXPECT_NE(gear, DeriveGearTable(TestKey(2)));
  for (int i : {0, 1, 200, 255}) {
    uint8_t msg[11] = {'c', 'a', 'i', 'r', 'n', '.', 'g', 'e', 'a', 'r', static_cast<uint8_t>(i)};
    const Id h = HmacSha256(key, ByteView(msg, sizeof(msg)));
    EXPECT_EQ(gear[static_cast<size_t>(i)], DecodeFixed64(h.bytes.data())) << i;
  }
  EXPECT_EQ(std::set<uint64_t>(gear.begin(), gear.end()).size(), 256u);
}

TEST(ChunkerTest, ShortInputsAreOneChunk) {
  Chunker c(kSmall, DeriveGearTable(TestKey(1)));
  const Bytes data = test::RandomBytes(kSmall.min_size + 100, 1);
  EXPECT_EQ(c.NextCut({}), 0u);
  EXPECT_EQ(c.NextCut(ByteView(data.data(), 1)), 1u);
  EXPECT_EQ(c.NextCut(ByteView(data.data(), kSmall.min_size)), kSmall.min_size);
  // Just over min: a cut in (min, size] or the whole input.
  const size_t n = c.NextCut(data);
  EXPECT_GT(n, kSmall.min_size);
  EXPECT_LE(n, data.size());
}

TEST(ChunkerTest, CutsAtMaxWhenNoBoundaryMatches) {
  // A constant input drives the gear hash to a constant that (for this key)
  // never matches the mask, so every chunk is cut at max_size.
  Chunker c(kSmall, DeriveGearTable(TestKey(1)));
  const Bytes zeros(3 * kSmall.max_size + 10, 0);
  const std::vector<size_t> lens = Chunk(c, zeros);
  ASSERT_EQ(lens.size(), 4u);
  EXPECT_EQ(lens[0], kSmall.max_size);
  EXPECT_EQ(lens[1], kSmall.max_size);
  EXPECT_EQ(lens[2], kSmall.max_size);
  EXPECT_EQ(lens[3], 10u);
  // Passing more than max never yields more than max.
  EXPECT_EQ(c.NextCut(zeros), kSmall.max_size);
}

TEST(ChunkerTest, DeterministicAndWithinBounds) {
  const Bytes data = test::RandomBytes(8 << 20, 2);
  const GearTable gear = DeriveGearTable(TestKey(3));
  const std::vector<size_t> a = Chunk(Chunker(kSmall, gear), data);
  const std::vector<size_t> b = Chunk(Chunker(kSmall, gear), data);
  EXPECT_EQ(a, b);
  ExpectWithinBounds(a, kSmall);
  size_t total = 0;
  for (size_t n : a) total += n;
  EXPECT_EQ(total, data.size());
}

TEST(ChunkerTest, MeanChunkSizeNearAverage) {
  const Bytes data = test::RandomBytes(64 << 20, 3);
  const GearTable gear = DeriveGearTable(TestKey(4));
  for (const ChunkerParams& p : {kSmall, ChunkerParams{}}) {
    const std::vector<size_t> lens = Chunk(Chunker(p, gear), data);
    ExpectWithinBounds(lens, p);
    const double mean = MeanOfAllButLast(lens);
    EXPECT_GT(mean, 0.75 * p.avg_size) << "avg " << p.avg_size << ", " << lens.size() << " chunks";
    EXPECT_LT(mean, 1.25 * p.avg_size) << "avg " << p.avg_size << ", " << lens.size() << " chunks";
  }
}

TEST(ChunkerTest, InsertionNearTheStartKeepsMostChunks) {
  const Bytes data = test::RandomBytes(32 << 20, 5);
  Bytes edited(data.begin(), data.begin() + 1000);
  const Bytes insert = test::RandomBytes(100, 6);
  Append(edited, insert);
  edited.insert(edited.end(), data.begin() + 1000, data.end());

  const Chunker c(kSmall, DeriveGearTable(TestKey(5)));
  auto chunks_of = [&](const Bytes& d) {
    std::set<std::pair<size_t, Id>> out;  // (length, hash) of every chunk
    size_t pos = 0;
    for (size_t n : Chunk(c, d)) {
      out.emplace(n, Sha256(ByteView(d.data() + pos, n)));
      pos += n;
    }
    return out;
  };
  const auto before = chunks_of(data);
  const auto after = chunks_of(edited);
  size_t shared_bytes = 0;
  for (const auto& chunk : after) {
    if (before.count(chunk)) shared_bytes += chunk.first;
  }
  EXPECT_GE(static_cast<double>(shared_bytes), 0.9 * static_cast<double>(data.size()))
      << shared_bytes << " of " << data.size() << " bytes in unchanged chunks";
}

TEST(ChunkerTest, DifferentKeysGiveDifferentBoundaries) {
  const Bytes data = test::RandomBytes(4 << 20, 7);
  const std::vector<size_t> a = Chunk(Chunker(kSmall, DeriveGearTable(TestKey(8))), data);
  const std::vector<size_t> b = Chunk(Chunker(kSmall, DeriveGearTable(TestKey(9))), data);
  ExpectWithinBounds(b, kSmall);
  std::set<size_t> cuts_a, cuts_b;
  size_t pos = 0;
  for (size_t n : a) cuts_a.insert(pos += n);
  pos = 0;
  for (size_t n : b) cuts_b.insert(pos += n);
  size_t common = 0;
  for (size_t cut : cuts_b) common += cuts_a.count(cut);
  // Only the end of the data is a boundary for sure; chance agreements are rare.
  EXPECT_LT(common, cuts_b.size() / 10 + 2) << common << " of " << cuts_b.size();
}

TEST(ChunkerTest, BoundaryDependsOnlyOnContentFromChunkStart) {
  // Chunking a suffix that starts at a chunk boundary finds the same cuts:
  // what a resumed or parallel reader relies on.
  const Bytes data = test::RandomBytes(2 << 20, 10);
  const Chunker c(kSmall, DeriveGearTable(TestKey(11)));
  const std::vector<size_t> all = Chunk(c, data);
  ASSERT_GT(all.size(), 10u);
  const size_t skip = all[0] + all[1] + all[2];
  const std::vector<size_t> rest = Chunk(c, ByteView(data).subspan(skip));
  EXPECT_EQ(rest, std::vector<size_t>(all.begin() + 3, all.end()));
}

}  // namespace
}  // namespace cairn
