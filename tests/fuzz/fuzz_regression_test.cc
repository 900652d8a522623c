// Runs the fuzz targets as an ordinary test: every file of the checked-in
// corpus (tests/fuzz/corpus/<target>/), then thousands of seeded random
// mutations of valid encodings. A target aborts on a broken invariant, so a
// regression shows up here as a crash with the target's message.
//
// The seed corpus is written by the disabled test WriteSeedCorpus:
//   CAIRN_FUZZ_SEED_DIR=tests/fuzz/corpus cairn_fuzz_regression
//       --gtest_also_run_disabled_tests --gtest_filter='*WriteSeedCorpus'
// (one command line).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "common/coding.h"
#include "repo/crypto.h"
#include "repo/index.h"
#include "repo/pack.h"
#include "repo/tree.h"

extern "C" int CairnFuzzTree(const uint8_t* data, size_t size);
extern "C" int CairnFuzzPackHeader(const uint8_t* data, size_t size);
extern "C" int CairnFuzzIndex(const uint8_t* data, size_t size);
extern "C" int CairnFuzzS3Xml(const uint8_t* data, size_t size);

namespace cairn {
namespace {

using FuzzFn = int (*)(const uint8_t*, size_t);

Id IdOf(uint8_t seed) {
  Id id;
  for (size_t i = 0; i < Id::kSize; ++i) id.bytes[i] = static_cast<uint8_t>(seed * 31 + i);
  return id;
}

Bytes TreeLeaf() {
  TreeBlob b;
  Node dir;
  dir.name = "dir";
  dir.type = NodeType::kDir;
  dir.mode = 0755;
  dir.subtree = IdOf(1);
  dir.mtime_ns = 1700000000123456789;
  Node file;
  file.name = "file\xff";
  file.mode = 0644;
  file.uid = file.gid = 1000;
  file.user = file.group = "me";
  file.size = 70000;
  file.content = {{IdOf(2), 4096, false}, {Id{}, 61904, true}, {IdOf(3), 4000, false}};
  file.sha256 = IdOf(4);
  file.nlink = 2;
  file.xattrs = {{"user.a", std::string("\0\1", 2)}, {"user.b", "v"}};
  Node link;
  link.name = "link";
  link.type = NodeType::kSymlink;
  link.symlink_target = "../x";
  link.size = 4;
  link.atime_ns = -5;
  Node dev;
  dev.name = "null";
  dev.type = NodeType::kCharDev;
  dev.rdev = 0x103;
  b.nodes = {dir, file, link, dev};
  return EncodeTreeBlob(b);
}

Bytes TreeIndex() {
  TreeBlob b;
  b.is_index = true;
  b.children = {{"a", IdOf(5), 2048}, {"m", IdOf(6), 5000}, {"z\n", IdOf(7), 1}};
  return EncodeTreeBlob(b);
}

std::vector<PackEntry> SomeEntries() {
  return {{IdOf(8), BlobType::kData, 0, 100, 200}, {IdOf(9), BlobType::kTree, 100, 60, 1000}};
}

// Mode 0 input of pack_header_fuzz: 0, area (u32 LE), header plaintext.
Bytes PackHeaderInput() {
  Bytes in = {0};
  PutFixed32(in, 160);
  Append(in, EncodePackHeader(SomeEntries()));
  return in;
}

// Mode 1 input: 1, then a whole pack sealed with the fuzz target's all-zero keys.
Bytes WholePackInput(size_t blobs) {
  Crypto crypto(MasterKeys{});
  BlobCodec codec(crypto, 3);
  PackBuilder builder;
  for (size_t i = 0; i < blobs; ++i) {
    Bytes plain(20 + i, static_cast<uint8_t>(i));
    Bytes stored;
    const Id id = crypto.BlobId(plain);
    codec.Encode(BlobType::kData, id, plain, stored);
    builder.Add(BlobType::kData, id, stored, static_cast<uint32_t>(plain.size()));
  }
  FinishedPack pack = builder.Finish(codec);
  Bytes in = {1};
  Append(in, pack.bytes);
  return in;
}

Bytes IndexInput() {
  IndexSegment seg;
  seg.packs = {{IdOf(10), 500, SomeEntries()}, {IdOf(11), 40, {}}};
  seg.supersedes = {IdOf(12)};
  return EncodeIndexSegment(seg);
}

struct Target {
  const char* name;  // corpus directory
  FuzzFn fn;
  std::vector<std::pair<std::string, Bytes>> seeds;  // file name, contents
};

std::vector<Target> Targets() {
  return {
      {"tree",
       CairnFuzzTree,
       {{"leaf-4-entries", TreeLeaf()}, {"index-3-refs", TreeIndex()}, {"leaf-empty", {1, 0, 0}}}},
      {"pack_header",
       CairnFuzzPackHeader,
       {{"plaintext-2-entries", PackHeaderInput()},
        {"pack-3-blobs", WholePackInput(3)},
        {"pack-empty", WholePackInput(0)}}},
      {"index", CairnFuzzIndex, {{"segment-2-packs", IndexInput()}, {"segment-empty", {1, 0, 0}}}},
      // S3 replies are text: the checked-in corpus (corpus/s3_xml/) holds
      // the seeds; this one adds a body that is not XML at all.
      {"s3_xml", CairnFuzzS3Xml, {{"not-xml", ToBytes("<html>502 Bad Gateway")}}},
  };
}

std::filesystem::path CorpusDir(const char* target) {
  return std::filesystem::path(CAIRN_FUZZ_CORPUS) / target;
}

Bytes ReadFile(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// One random edit of the kinds libFuzzer makes: flip, set, insert, erase,
// truncate, duplicate a range.
Bytes Mutate(Bytes b, std::mt19937_64& rng) {
  const int edits = 1 + static_cast<int>(rng() % 3);
  for (int e = 0; e < edits; ++e) {
    const size_t at = b.empty() ? 0 : rng() % b.size();
    switch (rng() % 6) {
      case 0:
        if (!b.empty()) b[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
        break;
      case 1:
        if (!b.empty()) b[at] = static_cast<uint8_t>(rng());
        break;
      case 2:
        b.insert(b.begin() + static_cast<ptrdiff_t>(at), static_cast<uint8_t>(rng()));
        break;
      case 3:
        if (!b.empty()) b.erase(b.begin() + static_cast<ptrdiff_t>(at));
        break;
      case 4:
        b.resize(at);
        break;
      default: {
        const size_t len = std::min<size_t>(b.size() - at, 1 + rng() % 16);
        Bytes piece(b.begin() + static_cast<ptrdiff_t>(at),
                    b.begin() + static_cast<ptrdiff_t>(at + len));
        b.insert(b.begin() + static_cast<ptrdiff_t>(rng() % (b.size() + 1)), piece.begin(),
                 piece.end());
      }
    }
  }
  return b;
}

TEST(FuzzRegressionTest, CorpusFiles) {
  for (const Target& t : Targets()) {
    const auto dir = CorpusDir(t.name);
    ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
    size_t files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (!entry.is_regular_file()) continue;
      SCOPED_TRACE(entry.path().string());
      const Bytes data = ReadFile(entry.path());
      EXPECT_EQ(t.fn(data.data(), data.size()), 0);
      ++files;
    }
    EXPECT_GT(files, 0u) << "empty corpus for " << t.name;
  }
}

TEST(FuzzRegressionTest, SeedsAreValid) {
  for (const Target& t : Targets()) {
    for (const auto& [name, s] : t.seeds) EXPECT_EQ(t.fn(s.data(), s.size()), 0) << name;
  }
  EXPECT_TRUE(DecodeTreeBlob(TreeLeaf()));
  EXPECT_TRUE(DecodeIndexSegment(IndexInput()));
}

TEST(FuzzRegressionTest, RandomMutations) {
  std::mt19937_64 rng(20260101);
  for (const Target& t : Targets()) {
    std::vector<Bytes> bases;
    for (const auto& [name, s] : t.seeds) bases.push_back(s);
    const auto dir = CorpusDir(t.name);
    if (std::filesystem::is_directory(dir)) {
      for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.is_regular_file()) bases.push_back(ReadFile(entry.path()));
      }
    }
    for (int i = 0; i < 5000; ++i) {
      const Bytes m = Mutate(bases[static_cast<size_t>(i) % bases.size()], rng);
      ASSERT_EQ(t.fn(m.data(), m.size()), 0);
    }
  }
}

TEST(FuzzRegressionTest, DISABLED_WriteSeedCorpus) {
  const char* out = std::getenv("CAIRN_FUZZ_SEED_DIR");
  ASSERT_NE(out, nullptr) << "set CAIRN_FUZZ_SEED_DIR";
  for (const Target& t : Targets()) {
    const auto dir = std::filesystem::path(out) / t.name;
    std::filesystem::create_directories(dir);
    for (const auto& [name, s] : t.seeds) {
      std::ofstream f(dir / name, std::ios::binary);
      f.write(reinterpret_cast<const char*>(s.data()), static_cast<std::streamsize>(s.size()));
    }
  }
}

}  // namespace
}  // namespace cairn
