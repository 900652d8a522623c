#include "backend/s3_lock.h"

#include <cctype>

namespace cairn {

namespace {

const std::string* FindHeader(const HttpHeaders& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (k == name) return &v;
  }
  return nullptr;
}

}  // namespace

bool IsRetainUntilForm(std::string_view s) {
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:ddZ";
  if (s.size() != kShape.size()) return false;
  for (size_t i = 0; i < kShape.size(); ++i) {
    const bool digit = std::isdigit(static_cast<unsigned char>(s[i])) != 0;
    if (kShape[i] == 'd' ? !digit : s[i] != kShape[i]) return false;
  }
  return ParseIso8601(s).has_value();
}

HttpHeaders ObjectLockHeaders(LockMode mode, int64_t retain_until_ns) {
  if (mode == LockMode::kNone) return {};
  return {{"x-amz-object-lock-mode", std::string(LockModeName(mode))},
          {"x-amz-object-lock-retain-until-date", FormatRetainUntil(retain_until_ns)}};
}

bool RequiresContentMd5(std::string_view op) {
  return op == "PUT" || op == "UploadPart" || op == "PutObjectRetention" ||
         op == "DeleteObjects" || op == "PutObjectLegalHold" ||
         op == "PutObjectLockConfiguration" || op == "PutBucketLifecycleConfiguration" ||
         op == "PutPublicAccessBlock" || op == "PutBucketVersioning" || op == "PutBucketPolicy";
}

Status CheckStrictRequest(std::string_view op, std::string_view target,
                          const HttpHeaders& headers) {
  auto refuse = [&](const std::string& why) {
    return Status::InvalidArgument("S3 strict mode (CAIRN_S3_STRICT): " + std::string(op) + " " +
                                   std::string(target) + " " + why + "; not sent");
  };
  if (RequiresContentMd5(op)) {
    const std::string* md5 = FindHeader(headers, "content-md5");
    if (md5 == nullptr || md5->empty()) {
      return refuse("has no Content-MD5, which AWS requires on it (400 InvalidRequest on "
                    "object-lock buckets)");
    }
  }
  if (const std::string* d = FindHeader(headers, "x-amz-object-lock-retain-until-date")) {
    if (!IsRetainUntilForm(*d)) {
      return refuse("has the retain-until date \"" + *d + "\", not YYYY-MM-DDTHH:MM:SSZ");
    }
  }
  if (FindHeader(headers, "x-amz-bypass-governance-retention") != nullptr) {
    return refuse("carries x-amz-bypass-governance-retention, which cairn never sends");
  }
  return Status::OK();
}

}  // namespace cairn
