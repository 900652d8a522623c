// OpenStore: the one place that turns a repository location into an
// ObjectStore and composes the wrappers around it (restic wrapBackend).
#pragma once

#include <memory>
#include <string>

#include "backend/object_store.h"
#include "common/log.h"
#include "common/status.h"

namespace cairn {

struct StoreOptions {
  bool read_only = false;       // wrap in ReadOnlyStore: every write fails
  int max_retries = 5;          // Transient errors retried this many times
  int64_t retry_budget_ms = 60000;  // give up retrying after this long in total
  int64_t retry_base_delay_ms = 100;
  Logger* logger = nullptr;     // retries log at debug level; may be null
};

// location: a plain path, "file:///abs/path", or (later) "s3://bucket/prefix".
// InvalidArgument for an unknown scheme.
Result<std::unique_ptr<ObjectStore>> OpenStore(const std::string& location,
                                               const StoreOptions& options);

}  // namespace cairn
