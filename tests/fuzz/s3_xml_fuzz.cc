// Fuzz target for the S3 reply parsers (backend/s3_xml.cc): any bytes a
// server or a proxy sends either parse or fail with Transient, never crash;
// what parses keeps its invariants.
#include "backend/s3_xml.h"
#include "tests/fuzz/fuzz_entry.h"

extern "C" int CAIRN_FUZZ_ENTRY(const uint8_t* data, size_t size) {
  using namespace cairn;
  const std::string_view xml(reinterpret_cast<const char*>(data), size);
  auto page = ParseListObjectsV2(xml);
  if (page) {
    CAIRN_FUZZ_CHECK(!page->truncated || !page->next_continuation_token.empty());
    for (const ObjectInfo& o : page->objects) CAIRN_FUZZ_CHECK(!o.key.empty());
  } else {
    CAIRN_FUZZ_CHECK(page.error().code() == ErrorCode::kTransient);
  }
  (void)ParseErrorBody(xml);
  auto up = ParseInitiateMultipartUpload(xml);
  CAIRN_FUZZ_CHECK(up ? !up->empty() : up.error().code() == ErrorCode::kTransient);
  auto done = ParseCompleteMultipartUpload(xml);
  CAIRN_FUZZ_CHECK(done || done.error().code() == ErrorCode::kTransient);
  auto del = ParseDeleteResult(xml);
  CAIRN_FUZZ_CHECK(del || del.error().code() == ErrorCode::kTransient);
  auto ret = ParseRetention(xml);
  if (ret) {
    // What parses, formats and parses back to the same time rounded up to
    // the second (a retain-until is never sent earlier than asked).
    if (ret->mode != LockMode::kNone && ret->retain_until_ns >= 0) {
      auto again = ParseRetention(RetentionXml(ret->mode, ret->retain_until_ns));
      CAIRN_FUZZ_CHECK(again && again->mode == ret->mode &&
                       again->retain_until_ns == RoundUpToSecond(ret->retain_until_ns));
    }
  } else {
    CAIRN_FUZZ_CHECK(ret.error().code() == ErrorCode::kTransient);
  }
  auto lock = ParseObjectLockConfiguration(xml);
  CAIRN_FUZZ_CHECK(lock || lock.error().code() == ErrorCode::kTransient);
  auto versioning = ParseVersioningStatus(xml);
  CAIRN_FUZZ_CHECK(versioning || versioning.error().code() == ErrorCode::kTransient);
  auto versions = ParseListVersions(xml);
  CAIRN_FUZZ_CHECK(versions || versions.error().code() == ErrorCode::kTransient);
  (void)ParseIso8601(xml);
  return 0;
}
