// Config, key files and snapshots: encodings and their error cases.
#include <gtest/gtest.h>

#include "repo/config.h"
#include "repo/keys.h"
#include "repo/snapshot.h"
#include "repo/tree_walk.h"

namespace cairn {
namespace {

TEST(ConfigTest, RoundTripAndErrors) {
  RepoConfig c;
  c.id = std::string(64, 'a');
  c.created_ns = 1795411266000000000;
  c.zstd_level = 5;
  auto d = DecodeConfig(EncodeConfig(c), "here");
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->id, c.id);
  EXPECT_EQ(d->zstd_level, 5);
  EXPECT_EQ(d->chunker.avg_size, c.chunker.avg_size);
  EXPECT_EQ(d->created_ns, c.created_ns);

  EXPECT_EQ(DecodeConfig(AsBytes("garbage"), "here").error().code(), ErrorCode::kNotARepository);
  EXPECT_EQ(DecodeConfig(AsBytes("{\"format\": 2}"), "here").error().code(),
            ErrorCode::kUnsupported);
  EXPECT_EQ(DecodeConfig(AsBytes("{\"format\": 1}"), "here").error().code(),
            ErrorCode::kCorruption);
  c.pack_size = 10;
  EXPECT_EQ(ValidateConfig(c).code(), ErrorCode::kInvalidArgument);
}

TEST(KeysTest, WrapUnwrapWrongPasswordAndDamage) {
  MasterKeys keys = NewMasterKeys();
  ScryptParams kdf;
  kdf.n = 1 << 10;
  auto file = CreateKeyFile(keys, "secret", kdf);
  ASSERT_TRUE(file);
  auto opened = OpenKeyFile(*file, "secret", "keys/x");
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->encryption, keys.encryption);
  EXPECT_EQ(opened->mac, keys.mac);
  auto wrong = OpenKeyFile(*file, "Secret", "keys/x");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), ErrorCode::kWrongPassword);
  auto info = ReadKeyInfo(*file, "keys/x");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->kdf.n, 1u << 10);
  EXPECT_EQ(OpenKeyFile(AsBytes("{}"), "secret", "keys/x").error().code(), ErrorCode::kCorruption);
  kdf.n = 1000;  // not a power of two
  EXPECT_EQ(CreateKeyFile(keys, "secret", kdf).error().code(), ErrorCode::kInvalidArgument);
}

TEST(SnapshotTest, RoundTripKeepsEveryField) {
  Snapshot s;
  s.id = *Id::FromHex(std::string(64, 'c'));
  s.time_ns = 1795411266123456789;
  s.hostname = "host";
  s.username = "root";
  s.series = "host:/etc";
  s.tags = {"a", "b"};
  s.paths = {"/etc", "/home"};
  s.parent = *Id::FromHex(std::string(64, 'd'));
  s.tree = *Id::FromHex(std::string(64, 'e'));
  s.stats.files = 10;
  s.stats.stored_bytes_added = 99;
  s.retain_until_ns = 1800000000000000000;
  auto d = DecodeSnapshot(EncodeSnapshot(s), s.id);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->time_ns, s.time_ns);
  EXPECT_EQ(d->tags, s.tags);
  EXPECT_EQ(d->paths, s.paths);
  EXPECT_EQ(d->parent, s.parent);
  EXPECT_EQ(d->tree, s.tree);
  EXPECT_EQ(d->stats.files, 10u);
  EXPECT_EQ(d->stats.stored_bytes_added, 99u);
  EXPECT_EQ(d->retain_until_ns, 1800000000000000000);
  EXPECT_EQ(SnapshotDirName(*d), "2026-11-23T05:21:06Z_cccccccc");
  EXPECT_EQ(DecodeSnapshot(AsBytes("[]"), s.id).error().code(), ErrorCode::kCorruption);
  EXPECT_EQ(DecodeSnapshot(AsBytes("{\"time\":\"x\",\"tree\":\"y\"}"), s.id).error().code(),
            ErrorCode::kCorruption);
}

TEST(SnapshotTest, MessageIsKeptOnlyWhenSet) {
  Snapshot s;
  s.id = *Id::FromHex(std::string(64, 'c'));
  s.time_ns = 1795411266123456789;
  s.tree = *Id::FromHex(std::string(64, 'e'));
  // Without a message the encoding has no such key: snapshots written
  // before `cairn seal` existed and new ones without a message look alike.
  const Bytes plain = EncodeSnapshot(s);
  EXPECT_EQ(std::string(AsChars(plain)).find("\"message\""), std::string::npos);
  auto d = DecodeSnapshot(plain, s.id);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->message, "");
  s.message = "before the upgrade\nof web1";
  const Bytes with = EncodeSnapshot(s);
  EXPECT_NE(std::string(AsChars(with)).find("\"message\""), std::string::npos);
  auto m = DecodeSnapshot(with, s.id);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->message, s.message);
  // A snapshot as written before the field existed decodes unchanged.
  auto old = DecodeSnapshot(
      AsBytes("{\"time\":\"2026-11-23T05:21:06.123456789Z\",\"hostname\":\"h\","
              "\"tree\":\"" + std::string(64, 'e') + "\",\"tags\":[\"a\"]}"),
      s.id);
  ASSERT_TRUE(old) << old.error().message();
  EXPECT_EQ(old->message, "");
  EXPECT_EQ(old->tags, std::vector<std::string>{"a"});
  // A message that is not a string is damage, as for the other fields.
  auto bad = DecodeSnapshot(
      AsBytes("{\"time\":\"2026-11-23T05:21:06Z\",\"tree\":\"" + std::string(64, 'e') +
              "\",\"message\":5}"),
      s.id);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kCorruption);
}

TEST(SnapshotPathTest, Normalize) {
  EXPECT_EQ(*NormalizeSnapshotPath(""), "/");
  EXPECT_EQ(*NormalizeSnapshotPath("/"), "/");
  EXPECT_EQ(*NormalizeSnapshotPath("usr//share/./doc/"), "/usr/share/doc");
  EXPECT_EQ(NormalizeSnapshotPath("/usr/../etc").error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace cairn
