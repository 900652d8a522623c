#include "repo/pack_reads.h"

#include <algorithm>
#include <string>

namespace cairn {

std::vector<PlannedRead> PlanPackReads(std::span<const BlobLocation> sorted,
                                       const CoalescePolicy& policy) {
  std::vector<PlannedRead> plan;
  for (size_t k = 0; k < sorted.size();) {
    PackRangeBuilder b(sorted[k], policy);
    size_t j = k + 1;
    while (j < sorted.size() && b.TryAdd(sorted[j])) ++j;
    plan.push_back({b.range(), k, j});
    k = j;
  }
  return plan;
}

PackRange PackWindow(const BlobLocation& loc, uint64_t window_bytes,
                     std::optional<uint64_t> pack_size) {
  const uint64_t start = loc.offset - loc.offset % window_bytes;
  const uint64_t need_end = uint64_t{loc.offset} + loc.length;
  uint64_t end = std::max(start + window_bytes, need_end);
  // A known size too small for the blob is stale or wrong: read past it,
  // so the store says what is there.
  if (pack_size && *pack_size >= need_end) end = std::min(end, *pack_size);
  return {loc.pack, start, end - start};
}

bool IsPackDamage(const Status& e) {
  return e.Is(ErrorCode::kNotFound) || e.Is(ErrorCode::kOutOfRange);
}

Status TruncatedPack(const Id& pack, BlobType type, const Id* blob) {
  if (!blob) return Status::Corruption("pack " + pack.Short() + " is truncated; run `cairn check`");
  return Status::Corruption("pack " + pack.Short() + " is truncated (" +
                            std::string(BlobTypeName(type)) + " blob " + blob->Short() +
                            " lies past its end); run `cairn check`");
}

Status PackReadError(const Status& e, const Id& pack, BlobType type, const Id* blob) {
  if (!IsPackDamage(e)) return e;
  if (!e.Is(ErrorCode::kNotFound)) return TruncatedPack(pack, type, blob);
  std::string holding;
  if (blob) holding = " holding " + std::string(BlobTypeName(type)) + " blob " + blob->Short();
  return Status::NotFound("pack " + pack.Short() + holding +
                          " is missing from the store; run `cairn check`");
}

}  // namespace cairn
