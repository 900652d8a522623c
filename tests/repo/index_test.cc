// Index segments: round trips, determinism and hostile input.
#include "repo/index.h"

#include <gtest/gtest.h>

#include <random>

namespace cairn {
namespace {

Id IdOf(uint8_t seed) {
  Id id;
  for (size_t i = 0; i < Id::kSize; ++i) id.bytes[i] = static_cast<uint8_t>(seed * 13 + i);
  return id;
}

IndexSegment Sample() {
  IndexSegment seg;
  seg.packs.push_back(IndexPack{IdOf(1),
                                1000,
                                {{IdOf(2), BlobType::kData, 0, 300, 1000},
                                 {IdOf(3), BlobType::kTree, 300, 500, UINT32_MAX}}});
  seg.packs.push_back(IndexPack{IdOf(4), 50, {}});  // a pack with no blobs
  seg.packs.push_back(
      IndexPack{IdOf(5), 1ull << 40, {{IdOf(6), BlobType::kData, UINT32_MAX - 10, 10, 0}}});
  seg.supersedes = {IdOf(7), IdOf(8)};
  return seg;
}

void ExpectSame(const IndexSegment& a, const IndexSegment& b) {
  EXPECT_EQ(a.packs, b.packs);
  EXPECT_EQ(a.supersedes, b.supersedes);
}

void ExpectCorrupt(ByteView data, const std::string& why) {
  auto d = DecodeIndexSegment(data);
  ASSERT_FALSE(d) << why;
  EXPECT_EQ(d.error().code(), ErrorCode::kCorruption) << why;
}

TEST(IndexTest, RoundTripAndDeterminism) {
  const IndexSegment seg = Sample();
  const Bytes bytes = EncodeIndexSegment(seg);
  auto d = DecodeIndexSegment(bytes);
  ASSERT_TRUE(d) << d.error().message();
  ExpectSame(*d, seg);
  EXPECT_EQ(EncodeIndexSegment(seg), bytes);
  EXPECT_EQ(EncodeIndexSegment(*d), bytes);
}

TEST(IndexTest, EmptySegment) {
  const Bytes bytes = EncodeIndexSegment({});
  EXPECT_EQ(bytes, (Bytes{1, 0, 0}));  // version, no packs, no supersedes
  auto d = DecodeIndexSegment(bytes);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->packs.empty());
  EXPECT_TRUE(d->supersedes.empty());
}

TEST(IndexTest, Layout) {
  IndexSegment seg;
  seg.packs.push_back(IndexPack{IdOf(1), 200, {{IdOf(2), BlobType::kTree, 5, 130, 7}}});
  const Bytes b = EncodeIndexSegment(seg);
  // version, count, pack id, size (2-byte varint), blob count, type, id,
  // offset, length (2-byte varint), raw length, supersedes count.
  ASSERT_EQ(b.size(), 1u + 1 + 32 + 2 + 1 + 1 + 32 + 1 + 2 + 1 + 1);
  EXPECT_EQ(b[1], 1);
  EXPECT_EQ(b[34], 0xc8);  // 200
  EXPECT_EQ(b[35], 0x01);
  EXPECT_EQ(b[36], 1);  // blob count
  EXPECT_EQ(b[37], 1);  // tree
  EXPECT_EQ(b[70], 5);  // offset
}

TEST(IndexTest, RejectsBadInput) {
  const Bytes good = EncodeIndexSegment(Sample());
  for (size_t len = 0; len < good.size(); ++len) {
    ExpectCorrupt(ByteView(good).first(len), "truncated to " + std::to_string(len));
  }
  Bytes b = good;
  b.push_back(0);
  ExpectCorrupt(b, "trailing byte");
  b = good;
  b[0] = 2;
  ExpectCorrupt(b, "version");

  IndexSegment seg = Sample();
  seg.packs[0].blobs[1].length = 701;  // ends past pack_size 1000
  ExpectCorrupt(EncodeIndexSegment(seg), "blob past its pack");
  seg = Sample();
  seg.packs[0].blobs[0].offset = 1000;
  seg.packs[0].blobs[0].length = 0;
  ExpectCorrupt(EncodeIndexSegment(seg), "blob at the end of its pack");
  seg = Sample();
  seg.packs[0].blobs[0].type = static_cast<BlobType>(2);
  ExpectCorrupt(EncodeIndexSegment(seg), "blob type");

  // Counts that the input could never hold are refused before allocating.
  ExpectCorrupt(Bytes{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, "packs");
  Bytes many_blobs = {1, 1};
  many_blobs.resize(many_blobs.size() + 32, 0);
  Append(many_blobs, Bytes{100, 0xff, 0xff, 0xff, 0xff, 0x0f});
  ExpectCorrupt(many_blobs, "blobs");
  ExpectCorrupt(Bytes{1, 0, 0xff, 0xff, 0x03}, "supersedes");
  // Offsets are 32-bit: a 33-bit varint is invalid even in a huge pack.
  Bytes wide = {1, 1};
  wide.resize(wide.size() + 32, 0);
  Append(wide, Bytes{0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 1, 0});
  wide.resize(wide.size() + 32, 0);
  Append(wide, Bytes{0x80, 0x80, 0x80, 0x80, 0x10, 1, 1, 0});
  ExpectCorrupt(wide, "offset over 32 bits");
}

TEST(IndexTest, RandomMutationsDecodeOrFailCleanly) {
  const Bytes good = EncodeIndexSegment(Sample());
  std::mt19937_64 rng(7);
  for (int i = 0; i < 5000; ++i) {
    Bytes m = good;
    m[rng() % m.size()] = static_cast<uint8_t>(rng());
    auto d = DecodeIndexSegment(m);
    if (!d) {
      EXPECT_EQ(d.error().code(), ErrorCode::kCorruption);
      continue;
    }
    auto again = DecodeIndexSegment(EncodeIndexSegment(*d));
    ASSERT_TRUE(again) << again.error().message();
    ExpectSame(*again, *d);
  }
}

}  // namespace
// The view decodes every blob as DecodeIndexSegment does, numbers them
// across packs (an empty pack holds none) and finds each blob's pack.
TEST(IndexTest, ViewDecodesEntriesInPlace) {
  IndexSegment seg = Sample();
  seg.packs.insert(seg.packs.begin(), IndexPack{IdOf(20), 10, {}});  // empty first pack
  seg.packs.push_back(IndexPack{IdOf(21), 10, {}});                  // and last
  const Bytes bytes = EncodeIndexSegment(seg);
  auto view = IndexSegmentView::Parse(bytes);
  ASSERT_TRUE(view) << view.error().message();
  ASSERT_EQ(view->packs().size(), seg.packs.size());
  EXPECT_EQ(view->supersedes(), seg.supersedes);
  size_t i = 0;
  for (size_t p = 0; p < seg.packs.size(); ++p) {
    EXPECT_EQ(view->packs()[p].id, seg.packs[p].pack);
    EXPECT_EQ(view->packs()[p].size, seg.packs[p].pack_size);
    EXPECT_EQ(view->packs()[p].first_blob, i);
    for (const PackEntry& b : seg.packs[p].blobs) {
      EXPECT_EQ(view->blob(i), b) << i;
      EXPECT_EQ(Bytes(view->blob_id(i).begin(), view->blob_id(i).end()),
                Bytes(b.id.bytes.begin(), b.id.bytes.end()));
      EXPECT_EQ(view->pack_of(i), p) << i;
      ++i;
    }
  }
  EXPECT_EQ(view->blob_count(), i);
  EXPECT_EQ(i, 3u);
  // What DecodeIndexSegment refuses, Parse refuses (it is the same check).
  Bytes cut(bytes.begin(), bytes.end() - 1);
  EXPECT_EQ(IndexSegmentView::Parse(cut).error().code(), ErrorCode::kCorruption);
}

}  // namespace cairn
