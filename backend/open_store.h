// OpenStore: the one place that turns a repository location into an
// ObjectStore and composes the wrappers around it (restic wrapBackend).
#pragma once

#include <memory>
#include <string>

#include "backend/object_store.h"
#include "backend/retrying_store.h"
#include "common/log.h"
#include "common/status.h"

namespace cairn {

// The retry fields (max_retries, retry_budget_ms, retry_base_delay_ms,
// logger) come from RetryPolicy; the logger also gets S3 request ids.
struct StoreOptions : RetryPolicy {
  bool read_only = false;       // wrap in ReadOnlyStore: every write fails

  // Bandwidth limits in KiB/s for the whole process (0: none); any store.
  uint64_t limit_upload_kib = 0;
  uint64_t limit_download_kib = 0;

  // S3 only (see backend/s3_location.h for the precedence of each).
  std::string endpoint;  // --endpoint; empty: URL query, AWS_ENDPOINT_URL, AWS
  std::string region;    // --region; empty: URL query, AWS_REGION, profile, us-east-1
  int connections = 8;   // parallel HTTP connections (--connections)
  int64_t connect_timeout_ms = 10000;
  int64_t stall_timeout_s = 30;  // a transfer slower than 1 KiB/s this long fails (Transient)
  int64_t request_timeout_ms = 15 * 60 * 1000;  // whole request
  bool create_bucket = false;  // `cairn init`: create the bucket when missing
  // With create_bucket: a bucket created here gets S3 Object Lock (which
  // also enables versioning). An existing bucket is left as it is: the
  // caller checks GetObjectLockConfig().
  bool create_bucket_object_lock = false;
};

// True for "s3://..." (any case of the scheme).
bool IsS3Location(std::string_view location);

// location: a plain path, "file:///abs/path", or "s3://bucket/prefix".
// InvalidArgument for an unknown scheme. For s3:// the credentials are
// resolved here (backend/s3_credentials.h) and, with create_bucket, the
// bucket is created when missing.
Result<std::unique_ptr<ObjectStore>> OpenStore(const std::string& location,
                                               const StoreOptions& options);

}  // namespace cairn
