// Rebuilds index/ from the pack headers alone: for when index segments are
// damaged or missing, or packs were left unindexed by an interrupted backup.
#pragma once

#include <functional>
#include <string>

#include "common/status.h"
#include "repo/repository.h"

namespace cairn {

struct RebuildResult {
  uint64_t packs = 0, blobs = 0, unreadable_packs = 0, segments_written = 0,
           segments_removed = 0;
  uint64_t incomplete_writes = 0;  // temporary files of interrupted writes, reported
};

// Reads every pack's header, writes new index segments naming all readable
// packs, then removes the old segments (new ones are durable first, so a
// crash leaves duplicate entries, never missing ones). report gets one line
// per unreadable pack and per temporary file an interrupted write left in
// packs/ (a pack cut short by a second Ctrl-C: not indexable, not removed).
Result<RebuildResult> RebuildIndex(Repository& repo,
                                   const std::function<void(const std::string&)>& report);

}  // namespace cairn
