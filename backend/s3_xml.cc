#include "backend/s3_xml.h"
#include "common/clock.h"

#include <cctype>
#include <charconv>
#include <cstdint>
#include <ctime>
#include <sstream>

#include <pugixml.hpp>

namespace cairn {

namespace {

Status BadXml(std::string_view what, std::string_view why) {
  return Status::Transient("S3 sent a malformed " + std::string(what) + " reply (" +
                           std::string(why) + "); a proxy or a cut connection may have mangled it");
}

// Parses xml and returns its root element named root_name, or an error.
Result<pugi::xml_node> Root(pugi::xml_document& doc, std::string_view xml, const char* root_name) {
  pugi::xml_parse_result r = doc.load_buffer(xml.data(), xml.size(), pugi::parse_default);
  if (!r) return Err(BadXml(root_name, r.description()));
  pugi::xml_node root = doc.document_element();
  if (std::string_view(root.name()) != root_name) {
    return Err(BadXml(root_name, "root element is <" + std::string(root.name()) + ">"));
  }
  return root;
}

std::string Text(const pugi::xml_node& n, const char* child) {
  return n.child(child).text().as_string();
}

std::optional<uint64_t> ParseU64(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::string Save(const pugi::xml_document& doc) {
  std::ostringstream os;
  doc.save(os, "", pugi::format_raw);
  return os.str();
}

pugi::xml_node S3Root(pugi::xml_document& doc, const char* name) {
  auto decl = doc.append_child(pugi::node_declaration);
  decl.append_attribute("version") = "1.0";
  decl.append_attribute("encoding") = "UTF-8";
  pugi::xml_node root = doc.append_child(name);
  root.append_attribute("xmlns") = "http://s3.amazonaws.com/doc/2006-03-01/";
  return root;
}

int Digits(std::string_view s, size_t pos, size_t n) {
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

}  // namespace

Result<S3ListPage> ParseListObjectsV2(std::string_view xml) {
  pugi::xml_document doc;
  CAIRN_ASSIGN_OR_RETURN(pugi::xml_node root, Root(doc, xml, "ListBucketResult"));
  S3ListPage page;
  for (pugi::xml_node c : root.children("Contents")) {
    ObjectInfo info;
    info.key = Text(c, "Key");
    auto size = ParseU64(Text(c, "Size"));
    if (info.key.empty() || !size) return Err(BadXml("ListObjectsV2", "a <Contents> without Key or Size"));
    info.size = *size;
    page.objects.push_back(std::move(info));
  }
  page.truncated = Text(root, "IsTruncated") == "true";
  page.next_continuation_token = Text(root, "NextContinuationToken");
  if (page.truncated && page.next_continuation_token.empty()) {
    return Err(BadXml("ListObjectsV2", "truncated without a NextContinuationToken"));
  }
  return page;
}

std::optional<S3ErrorBody> ParseErrorBody(std::string_view xml) {
  pugi::xml_document doc;
  if (!doc.load_buffer(xml.data(), xml.size())) return std::nullopt;
  pugi::xml_node root = doc.document_element();
  if (std::string_view(root.name()) != "Error") return std::nullopt;
  S3ErrorBody e;
  e.code = Text(root, "Code");
  e.message = Text(root, "Message");
  e.request_id = Text(root, "RequestId");
  e.region = Text(root, "Region");
  e.endpoint = Text(root, "Endpoint");
  return e;
}

Result<std::string> ParseInitiateMultipartUpload(std::string_view xml) {
  pugi::xml_document doc;
  CAIRN_ASSIGN_OR_RETURN(pugi::xml_node root, Root(doc, xml, "InitiateMultipartUploadResult"));
  std::string id = Text(root, "UploadId");
  if (id.empty()) return Err(BadXml("CreateMultipartUpload", "no UploadId"));
  return id;
}

Result<std::string> ParseCompleteMultipartUpload(std::string_view xml) {
  pugi::xml_document doc;
  CAIRN_ASSIGN_OR_RETURN(pugi::xml_node root, Root(doc, xml, "CompleteMultipartUploadResult"));
  return Text(root, "ETag");
}

Result<S3DeleteResult> ParseDeleteResult(std::string_view xml) {
  pugi::xml_document doc;
  CAIRN_ASSIGN_OR_RETURN(pugi::xml_node root, Root(doc, xml, "DeleteResult"));
  S3DeleteResult r;
  for (pugi::xml_node d : root.children("Deleted")) r.deleted.push_back(Text(d, "Key"));
  for (pugi::xml_node e : root.children("Error")) {
    r.errors.push_back({Text(e, "Key"), Text(e, "Code"), Text(e, "Message")});
  }
  return r;
}

Result<S3Retention> ParseRetention(std::string_view xml) {
  pugi::xml_document doc;
  CAIRN_ASSIGN_OR_RETURN(pugi::xml_node root, Root(doc, xml, "Retention"));
  S3Retention r;
  const std::string mode = Text(root, "Mode");
  if (mode == "GOVERNANCE") {
    r.mode = LockMode::kGovernance;
  } else if (mode == "COMPLIANCE") {
    r.mode = LockMode::kCompliance;
  } else if (!mode.empty()) {
    return Err(BadXml("GetObjectRetention", "unknown Mode " + mode));
  }
  const std::string until = Text(root, "RetainUntilDate");
  if (!until.empty()) {
    auto t = ParseIso8601(until);
    if (!t) return Err(BadXml("GetObjectRetention", "bad RetainUntilDate " + until));
    r.retain_until_ns = *t;
  }
  return r;
}

Result<ObjectLockConfig> ParseObjectLockConfiguration(std::string_view xml) {
  pugi::xml_document doc;
  CAIRN_ASSIGN_OR_RETURN(pugi::xml_node root, Root(doc, xml, "ObjectLockConfiguration"));
  ObjectLockConfig c;
  c.enabled = Text(root, "ObjectLockEnabled") == "Enabled";
  pugi::xml_node def = root.child("Rule").child("DefaultRetention");
  if (!def) return c;
  const std::string mode = Text(def, "Mode");
  if (mode == "GOVERNANCE") {
    c.default_mode = LockMode::kGovernance;
  } else if (mode == "COMPLIANCE") {
    c.default_mode = LockMode::kCompliance;
  } else if (!mode.empty()) {
    return Err(BadXml("GetObjectLockConfiguration", "unknown Mode " + mode));
  }
  const std::string days = Text(def, "Days"), years = Text(def, "Years");
  if (auto d = ParseU64(days)) {
    c.default_retention_s = static_cast<int64_t>(*d) * 86400;
  } else if (auto y = ParseU64(years)) {
    c.default_retention_s = static_cast<int64_t>(*y) * 365 * 86400;
  } else if (c.default_mode != LockMode::kNone) {
    return Err(BadXml("GetObjectLockConfiguration", "a DefaultRetention without Days or Years"));
  }
  return c;
}

Result<std::string> ParseVersioningStatus(std::string_view xml) {
  pugi::xml_document doc;
  CAIRN_ASSIGN_OR_RETURN(pugi::xml_node root, Root(doc, xml, "VersioningConfiguration"));
  return Text(root, "Status");
}

Result<S3VersionsPage> ParseListVersions(std::string_view xml) {
  pugi::xml_document doc;
  CAIRN_ASSIGN_OR_RETURN(pugi::xml_node root, Root(doc, xml, "ListVersionsResult"));
  S3VersionsPage page;
  for (pugi::xml_node n : root.children()) {
    const std::string_view name = n.name();
    if (name != "Version" && name != "DeleteMarker") continue;
    S3Version v;
    v.key = Text(n, "Key");
    v.version_id = Text(n, "VersionId");
    v.is_latest = Text(n, "IsLatest") == "true";
    v.delete_marker = name == "DeleteMarker";
    if (v.key.empty()) return Err(BadXml("ListObjectVersions", "a <" + std::string(name) +
                                                                   "> without Key"));
    page.versions.push_back(std::move(v));
  }
  page.truncated = Text(root, "IsTruncated") == "true";
  return page;
}

std::string CompleteMultipartUploadXml(const std::vector<std::string>& etags) {
  pugi::xml_document doc;
  pugi::xml_node root = S3Root(doc, "CompleteMultipartUpload");
  for (size_t i = 0; i < etags.size(); ++i) {
    pugi::xml_node p = root.append_child("Part");
    p.append_child("PartNumber").text().set(std::to_string(i + 1).c_str());
    p.append_child("ETag").text().set(etags[i].c_str());
  }
  return Save(doc);
}

std::string DeleteObjectsXml(const std::vector<std::string>& keys, bool quiet) {
  pugi::xml_document doc;
  pugi::xml_node root = S3Root(doc, "Delete");
  if (quiet) root.append_child("Quiet").text().set("true");
  for (const auto& k : keys) root.append_child("Object").append_child("Key").text().set(k.c_str());
  return Save(doc);
}

std::string RetentionXml(LockMode mode, int64_t retain_until_ns) {
  pugi::xml_document doc;
  pugi::xml_node root = S3Root(doc, "Retention");
  root.append_child("Mode").text().set(std::string(LockModeName(mode)).c_str());
  root.append_child("RetainUntilDate").text().set(FormatRetainUntil(retain_until_ns).c_str());
  return Save(doc);
}

std::string RestoreRequestXml(int days, std::string_view tier) {
  pugi::xml_document doc;
  pugi::xml_node root = S3Root(doc, "RestoreRequest");
  root.append_child("Days").text().set(days);
  root.append_child("GlacierJobParameters")
      .append_child("Tier")
      .text()
      .set(std::string(tier).c_str());
  return Save(doc);
}

std::string CreateBucketXml(std::string_view region) {
  if (region.empty() || region == "us-east-1") return "";
  pugi::xml_document doc;
  pugi::xml_node root = S3Root(doc, "CreateBucketConfiguration");
  root.append_child("LocationConstraint").text().set(std::string(region).c_str());
  return Save(doc);
}

std::string FormatIso8601(int64_t unix_ns) {
  time_t t = static_cast<time_t>(unix_ns / 1000000000);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int64_t RoundUpToSecond(int64_t unix_ns) {
  int64_t s = unix_ns / kNsPerSecond;
  if (unix_ns % kNsPerSecond > 0) ++s;
  return s * kNsPerSecond;
}

std::string FormatRetainUntil(int64_t unix_ns) { return FormatIso8601(RoundUpToSecond(unix_ns)); }

std::optional<int64_t> ParseIso8601(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.fff...](Z|+hh:mm|-hh:mm)
  if (s.size() < 20) return std::nullopt;
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd";
  for (size_t i = 0; i < kShape.size(); ++i) {
    if (kShape[i] == 'd' ? !std::isdigit(static_cast<unsigned char>(s[i])) : s[i] != kShape[i]) {
      return std::nullopt;
    }
  }
  struct tm tm = {};
  tm.tm_year = Digits(s, 0, 4) - 1900;
  tm.tm_mon = Digits(s, 5, 2) - 1;
  tm.tm_mday = Digits(s, 8, 2);
  tm.tm_hour = Digits(s, 11, 2);
  tm.tm_min = Digits(s, 14, 2);
  tm.tm_sec = Digits(s, 17, 2);
  size_t i = 19;
  int64_t frac_ns = 0;
  if (s[i] == '.') {
    ++i;
    int64_t scale = 100000000;
    const size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      frac_ns += (s[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == start) return std::nullopt;
  }
  int64_t offset_s = 0;
  std::string_view zone = s.substr(i);
  if (zone == "Z") {
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':' &&
             std::isdigit(static_cast<unsigned char>(zone[1])) &&
             std::isdigit(static_cast<unsigned char>(zone[2])) &&
             std::isdigit(static_cast<unsigned char>(zone[4])) &&
             std::isdigit(static_cast<unsigned char>(zone[5]))) {
    offset_s = (Digits(zone, 1, 2) * 3600 + Digits(zone, 4, 2) * 60) * (zone[0] == '+' ? 1 : -1);
  } else {
    return std::nullopt;
  }
  const int64_t secs = static_cast<int64_t>(timegm(&tm)) - offset_s;
  // Nanoseconds since 1970 fit an int64 until the year 2262.
  constexpr int64_t kMaxSecs = INT64_MAX / 1000000000 - 1;
  if (secs > kMaxSecs || secs < -kMaxSecs) return std::nullopt;
  return secs * 1000000000 + frac_ns;
}

std::string_view LockModeName(LockMode mode) {
  switch (mode) {
    case LockMode::kGovernance: return "GOVERNANCE";
    case LockMode::kCompliance: return "COMPLIANCE";
    default: return "";
  }
}

}  // namespace cairn
