// The seal protocol's JSON (fs/head_control.h): full and empty values
// survive a round trip, unknown fields are ignored, missing ones take their
// defaults, and a field of the wrong type is InvalidArgument naming it.
#include "fs/head_control.h"
#include "tests/support/test_data.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace cairn {
namespace {


SealReport FullReport() {
  SealReport r;
  r.snapshot = test::FilledId(0xaa);
  r.name = "2026-12-03T10:00:00Z_aaaaaaaa";
  r.parent = test::FilledId(0xbb);
  r.files = 1;
  r.dirs = 2;
  r.others = 3;
  r.files_new = 4;
  r.files_changed = 5;
  r.files_unmodified = 6;
  r.bytes = uint64_t{1} << 40;
  r.bytes_read = 8;
  r.stored_bytes_added = 9;
  r.trees_written = 10;
  r.skipped = 11;
  r.duration_ns = 1234567890123;
  r.leftover_temp_files = {"head/srv/.a.txt.Xy12Ab", "head/.b.QWErty"};
  return r;
}

HeadStatus FullStatus() {
  HeadStatus s;
  s.series = "web1";
  s.base = test::FilledId(0xcc);
  s.staged_bytes = 100;
  s.staging_limit = uint64_t{10} << 30;
  s.changed_entries = 7;
  s.files_pending = 3;
  s.files_packed = 5;
  s.bytes_packed = 5 << 20;
  s.bytes_uploaded = 2 << 20;
  s.pack_error = "storing pack 3f9a: store unreachable";
  s.oldest_change_ns = 1795411266123456789;
  s.sealing = true;
  s.fuse_requests = {{"lookup", 12}, {"write", 40}, {"create", 1}};
  return s;
}

TEST(HeadControlTest, SealRequestRoundTrips) {
  SealRequest full{{"nightly", "web"}, "before the upgrade\nline two \"quoted\""};
  auto d = DecodeSealRequest(EncodeSealRequest(full));
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(*d, full);
  auto e = DecodeSealRequest(EncodeSealRequest(SealRequest{}));
  ASSERT_TRUE(e) << e.error().message();
  EXPECT_EQ(*e, SealRequest{});
  // One line on the control channel: no raw newline in the encoding.
  EXPECT_EQ(EncodeSealRequest(full).find('\n'), std::string::npos);
}

TEST(HeadControlTest, SealReportRoundTrips) {
  auto d = DecodeSealReport(EncodeSealReport(FullReport()));
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(*d, FullReport());
  SealReport empty;
  empty.snapshot = test::FilledId(0xdd);
  auto e = DecodeSealReport(EncodeSealReport(empty));
  ASSERT_TRUE(e) << e.error().message();
  EXPECT_EQ(*e, empty);
  EXPECT_FALSE(e->parent);
}

TEST(HeadControlTest, HeadStatusRoundTrips) {
  auto d = DecodeHeadStatus(EncodeHeadStatus(FullStatus()));
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(*d, FullStatus());
  auto e = DecodeHeadStatus(EncodeHeadStatus(HeadStatus{}));
  ASSERT_TRUE(e) << e.error().message();
  EXPECT_EQ(*e, HeadStatus{});
}

TEST(HeadControlTest, FieldsAreNamedAsDocumented) {
  // man/cairn-seal.1 lists these names; scripts depend on them.
  auto j = nlohmann::json::parse(EncodeSealReport(FullReport()));
  EXPECT_EQ(j.at("snapshot"), std::string(64, 'a'));
  EXPECT_EQ(j.at("parent"), std::string(64, 'b'));
  EXPECT_EQ(j.at("duration_ns"), 1234567890123);
  EXPECT_EQ(j.at("leftover_temp_files").size(), 2u);
  auto s = nlohmann::json::parse(EncodeHeadStatus(HeadStatus{}));
  EXPECT_TRUE(s.at("base").is_null());
  EXPECT_EQ(s.at("oldest_change_ns"), 0);
  EXPECT_TRUE(s.at("fuse_requests").is_object());
}

TEST(HeadControlTest, UnknownFieldsAreIgnoredAndMissingOnesDefault) {
  auto r = DecodeSealReport("{\"snapshot\":\"" + std::string(64, 'e') +
                            "\",\"files\":3,\"from_the_future\":{\"x\":[1]}}");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->snapshot, test::FilledId(0xee));
  EXPECT_EQ(r->files, 3u);
  EXPECT_EQ(r->files_new, 0u);
  EXPECT_FALSE(r->parent);
  EXPECT_TRUE(r->leftover_temp_files.empty());
  auto s = DecodeHeadStatus("{\"sealing\":true,\"new\":1}");
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_TRUE(s->sealing);
  EXPECT_FALSE(s->base);
  auto q = DecodeSealRequest("{}");
  ASSERT_TRUE(q);
  EXPECT_EQ(*q, SealRequest{});
  // A null optional id is absent, as a missing one.
  auto n = DecodeHeadStatus("{\"base\":null}");
  ASSERT_TRUE(n);
  EXPECT_FALSE(n->base);
}

// Expects InvalidArgument whose message names `field`.
template <class T>
void ExpectBad(const Result<T>& r, const std::string& field) {
  ASSERT_FALSE(r) << "accepted a bad " << field;
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << r.error().message();
  EXPECT_NE(r.error().message().find(field), std::string::npos) << r.error().message();
}

TEST(HeadControlTest, WrongTypesAreInvalidArgumentNamingTheField) {
  const std::string id = "\"" + std::string(64, 'f') + "\"";
  ExpectBad(DecodeSealRequest("{\"tags\":\"nightly\"}"), "\"tags\"");
  ExpectBad(DecodeSealRequest("{\"tags\":[1]}"), "\"tags\"");
  ExpectBad(DecodeSealRequest("{\"message\":5}"), "\"message\"");
  ExpectBad(DecodeSealReport("{\"snapshot\":" + id + ",\"files\":-1}"), "\"files\"");
  ExpectBad(DecodeSealReport("{\"snapshot\":" + id + ",\"files\":\"3\"}"), "\"files\"");
  ExpectBad(DecodeSealReport("{\"snapshot\":" + id + ",\"bytes\":1.5}"), "\"bytes\"");
  ExpectBad(DecodeSealReport("{\"snapshot\":" + id + ",\"duration_ns\":\"1s\"}"),
            "\"duration_ns\"");
  ExpectBad(DecodeSealReport("{\"snapshot\":" + id + ",\"parent\":\"abc\"}"), "\"parent\"");
  ExpectBad(DecodeSealReport("{\"snapshot\":" + id + ",\"leftover_temp_files\":{}}"),
            "\"leftover_temp_files\"");
  ExpectBad(DecodeSealReport("{\"snapshot\":\"" + std::string(64, 'g') + "\"}"), "\"snapshot\"");
  ExpectBad(DecodeSealReport("{\"snapshot\":null}"), "\"snapshot\"");
  ExpectBad(DecodeSealReport("{\"files\":1}"), "\"snapshot\"");
  ExpectBad(DecodeHeadStatus("{\"sealing\":1}"), "\"sealing\"");
  ExpectBad(DecodeHeadStatus("{\"oldest_change_ns\":18446744073709551615}"),
            "\"oldest_change_ns\"");
  ExpectBad(DecodeHeadStatus("{\"fuse_requests\":[]}"), "\"fuse_requests\"");
  ExpectBad(DecodeHeadStatus("{\"fuse_requests\":{\"write\":\"many\"}}"),
            "\"fuse_requests.write\"");
  ExpectBad(DecodeHeadStatus("{\"base\":42}"), "\"base\"");
}

TEST(HeadControlTest, TextThatIsNotAnObjectIsInvalidArgument) {
  for (const char* text : {"", "not json", "[]", "42", "\"x\"", "{\"tags\":", "null"}) {
    EXPECT_EQ(DecodeSealRequest(text).error().code(), ErrorCode::kInvalidArgument) << text;
    EXPECT_EQ(DecodeSealReport(text).error().code(), ErrorCode::kInvalidArgument) << text;
    EXPECT_EQ(DecodeHeadStatus(text).error().code(), ErrorCode::kInvalidArgument) << text;
  }
  ExpectBad(DecodeSealReport("[1]"), "seal report");
  ExpectBad(DecodeHeadStatus("nope"), "head status");
}

TEST(HeadControlTest, InvalidUtf8IsReplacedNotFatal) {
  SealRequest r{{"tag\xff"}, "caf\xc3"};
  const std::string text = EncodeSealRequest(r);
  auto d = DecodeSealRequest(text);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->tags.size(), 1u);
  EXPECT_EQ(d->tags[0].rfind("tag", 0), 0u);
}

}  // namespace
}  // namespace cairn
