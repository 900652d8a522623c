// Planning ranged reads of packs, and what a failed one means to a user.
//
// Every reader of blobs (ContentReader for the mount and `cairn cat`,
// restore, TreeFetcher) reads packs by ranges: several wanted blobs of one
// pack that lie close together are read with one ranged GET, reading
// through the small gaps between them, because on S3 a request's latency
// costs far more than the bytes of a gap. PackRangeBuilder is that one
// coalescing rule; PackWindow is the speculative variant for blobs whose
// neighbours will be wanted soon (tree packs).
//
// Thread safety: everything here is a value or a pure function.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "cache/cache_db.h"
#include "common/id.h"
#include "common/status.h"
#include "repo/blob_codec.h"

namespace cairn {

// One ranged read of a pack: stored bytes [offset, offset + length).
struct PackRange {
  Id pack;
  uint64_t offset = 0;
  uint64_t length = 0;
  uint64_t end() const { return offset + length; }
  bool operator==(const PackRange&) const = default;
};

struct CoalescePolicy {
  // One ranged read at most (memory per fetch), unless its first blob alone
  // is larger.
  static constexpr uint64_t kDefaultMaxRead = 8 << 20;
  // Gaps this small between wanted blobs are read and thrown away.
  static constexpr uint64_t kDefaultMaxGap = 256 << 10;

  uint64_t max_read = kDefaultMaxRead;
  uint64_t max_gap = kDefaultMaxGap;
  // A blob lying wholly inside the range already planned joins it (several
  // wanted things stored as the same blob: identical small files). Without
  // this, or when it sticks out past the range's end, a blob that starts
  // before the range's end ends the range.
  bool join_repeats = false;
};

// Grows one range of one pack over blobs given in increasing offset order.
// Contract: TryAdd(l) is true, and the range then ends at l's end (or past
// it), exactly when
//   l is in the same pack, and
//   either join_repeats and l lies inside the range,
//   or l starts at or after the range's end, at most max_gap past it, and
//      the range would then span at most max_read bytes.
// A false TryAdd leaves the range as it was. Inline: it runs once per blob
// on the mount's read path.
class PackRangeBuilder {
 public:
  PackRangeBuilder(const BlobLocation& first, const CoalescePolicy& policy)
      : policy_(policy), range_{first.pack, first.offset, first.length} {}

  bool TryAdd(const BlobLocation& l) {
    if (l.pack != range_.pack) return false;
    const uint64_t end = range_.end();
    const uint64_t l_end = uint64_t{l.offset} + l.length;
    if (l.offset < end) {
      if (!policy_.join_repeats || l_end > end) return false;
      return true;  // inside: nothing to grow
    }
    if (l.offset - end > policy_.max_gap || l_end - range_.offset > policy_.max_read) return false;
    range_.length = l_end - range_.offset;
    return true;
  }
  const PackRange& range() const { return range_; }

 private:
  const CoalescePolicy policy_;
  PackRange range_;
};

// One planned read and the run of blobs it serves: blobs [first, last).
struct PlannedRead {
  PackRange range;
  size_t first = 0, last = 0;
  bool operator==(const PlannedRead&) const = default;
};

// Cuts blobs sorted by (pack, offset) into consecutive runs, one read each,
// by PackRangeBuilder's rule. Every blob is in exactly one run. For tests
// and callers that hold plain locations; callers with their own records
// use PackRangeBuilder in their own loop (no copy of the locations).
std::vector<PlannedRead> PlanPackReads(std::span<const BlobLocation> sorted,
                                       const CoalescePolicy& policy);

// The window to read for the blob at loc when its neighbours will probably
// be wanted soon: the window_bytes-aligned window of the pack that holds
// loc's start, extended to loc's end when the blob runs past it, and cut at
// the pack's end when pack_size is known and holds the blob. window_bytes > 0.
PackRange PackWindow(const BlobLocation& loc, uint64_t window_bytes,
                     std::optional<uint64_t> pack_size);

// --- a failed ranged read of a pack ---

// True when a store's error for a ranged read of a pack means the pack is
// damaged: missing (NotFound), or shorter than the range's start
// (OutOfRange, which every store returns for a read past the end).
bool IsPackDamage(const Status& e);
// The error a user sees for a pack too short to hold a blob. blob may be
// null when the read served several blobs; then only the pack is named.
Status TruncatedPack(const Id& pack, BlobType type, const Id* blob);
// A store's error e for a read of pack, as a user should see it: a missing
// pack (NotFound) or a truncated one (see IsPackDamage) names the pack and,
// when given, the blob (type, *blob), with the fix; other errors (transient,
// permission, ...) are returned unchanged.
Status PackReadError(const Status& e, const Id& pack, BlobType type, const Id* blob);

}  // namespace cairn
