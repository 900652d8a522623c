#include "repo/index_rebuild.h"

#include <mutex>

#include "common/clock.h"
#include "common/object_pool.h"
#include "common/thread_pool.h"
#include "repo/check.h"
#include "repo/index.h"
#include "repo/pack.h"

namespace cairn {

Result<RebuildResult> RebuildIndex(Repository& repo,
                                   const std::function<void(const std::string&)>& report) {
  // Segments first: one a concurrent backup writes after this listing is
  // kept, and the packs it names are listed below.
  std::vector<Id> old_segments;
  CAIRN_RETURN_IF_ERROR(repo.store().List("index/", [&](const ObjectInfo& info) {
    if (auto id = Id::FromHex(info.key.substr(6))) old_segments.push_back(*id);
    return Status::OK();
  }));

  std::vector<std::pair<Id, uint64_t>> packs;
  CAIRN_RETURN_IF_ERROR(repo.store().List("packs/", [&](const ObjectInfo& info) {
    auto id = Id::FromHex(info.key.substr(info.key.rfind('/') + 1));
    if (id && PackKey(*id) == info.key) packs.emplace_back(*id, info.size);
    return Status::OK();
  }));
  RebuildResult result;
  const int64_t now = NowNs();
  CAIRN_RETURN_IF_ERROR(ListIncompleteWrites(repo.store(), "packs/", [&](const IncompleteWrite& w) {
    ++result.incomplete_writes;
    report(DescribeIncompleteWrite(w, now));
    return Status::OK();
  }));
  std::mutex mu;
  std::vector<IndexPack> indexed;  // GUARDED_BY(mu)
  Status fatal;                    // GUARDED_BY(mu)
  {
    ObjectPool<BlobCodec> codecs([&repo] { return repo.NewCodec(); });
    ThreadPool pool(2 * DefaultThreads(), 64);
    for (const auto& [id, size] : packs) {
      pool.Submit([&, id = id, size = size] {
        auto codec = codecs.Acquire();
        const std::string key = PackKey(id);
        auto header = ReadPackHeader(*codec, id, size, [&](uint64_t off, uint64_t len) {
          return repo.store().Get(key, off, len);
        });
        std::lock_guard<std::mutex> lock(mu);
        if (!header) {
          if (header.error().Is(ErrorCode::kTransient) ||
              header.error().Is(ErrorCode::kPermissionDenied)) {
            if (fatal.ok()) fatal = header.error();
            return;
          }
          ++result.unreadable_packs;
          report("pack " + id.Hex() + ": " + header.error().message() + " (left out of the index)");
          return;
        }
        result.blobs += header->size();
        indexed.push_back(IndexPack{id, size, std::move(*header)});
      });
    }
    pool.Wait();
  }
  if (!fatal.ok()) return Err(fatal);
  result.packs = indexed.size();

  auto codec = repo.NewCodec();
  constexpr size_t kPacksPerSegment = 256;
  for (size_t i = 0; i < indexed.size(); i += kPacksPerSegment) {
    IndexSegment seg;
    size_t end = std::min(indexed.size(), i + kPacksPerSegment);
    seg.packs.assign(std::make_move_iterator(indexed.begin() + static_cast<ptrdiff_t>(i)),
                     std::make_move_iterator(indexed.begin() + static_cast<ptrdiff_t>(end)));
    if (end == indexed.size()) seg.supersedes = old_segments;
    CAIRN_ASSIGN_OR_RETURN(Id sid, repo.SaveObject(ObjectKind::kIndex, EncodeIndexSegment(seg),
                                                   *codec));
    ++result.segments_written;
    // A rebuild can write the byte-identical segment that already exists.
    std::erase(old_segments, sid);
  }
  for (const Id& old : old_segments) {
    CAIRN_RETURN_IF_ERROR(repo.store().Delete("index/" + old.Hex()));
    ++result.segments_removed;
  }
  CAIRN_RETURN_IF_ERROR(repo.SyncIndex());
  return result;
}

}  // namespace cairn
