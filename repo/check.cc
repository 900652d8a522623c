#include "repo/check.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "common/clock.h"
#include "common/object_pool.h"
#include "common/thread_pool.h"
#include "repo/index.h"
#include "repo/pack.h"

namespace cairn {
namespace {

struct IndexedBlob {
  Id pack;
  PackEntry entry;
};

class CheckRun {
 public:
  CheckRun(Repository& repo, const CheckOptions& opts,
           const std::function<void(bool, const std::string&)>& report,
           const std::atomic<bool>* cancel)
      : repo_(repo), opts_(opts), report_(report), cancel_(cancel) {}

  Result<CheckResult> Run();

 private:
  void Error(const std::string& m) {
    std::lock_guard<std::mutex> lock(mu_);
    ++result_.errors;
    report_(true, m);
  }
  void Warning(const std::string& m) {
    std::lock_guard<std::mutex> lock(mu_);
    ++result_.warnings;
    report_(false, m);
  }
  bool Cancelled() const { return cancel_ && cancel_->load(std::memory_order_relaxed); }
  Status LoadIndex(BlobCodec& codec);
  void CheckPacksExist();
  void CheckSnapshots(BlobCodec& codec);
  void CheckTree(const Id& tree, const std::string& path, const std::string& snap,
                 BlobCodec& codec);
  void ReadPack(const Id& pack, uint64_t size, BlobCodec& codec);

  Repository& repo_;
  const CheckOptions& opts_;
  const std::function<void(bool, const std::string&)>& report_;
  const std::atomic<bool>* cancel_;

  std::mutex mu_;
  CheckResult result_;  // GUARDED_BY(mu_) for errors/warnings
  std::map<Id, uint64_t> listed_packs_;                  // from the store's listing
  std::map<Id, uint64_t> indexed_packs_;                 // pack -> size per the index
  std::map<Id, std::vector<PackEntry>> pack_entries_;    // pack -> blobs per the index
  std::unordered_map<Id, IndexedBlob, IdHash> blobs_;    // blob -> where
  std::unordered_set<Id, IdHash> trees_seen_;
};

Status CheckRun::LoadIndex(BlobCodec& codec) {
  std::vector<Id> segments;
  CAIRN_RETURN_IF_ERROR(repo_.store().List("index/", [&](const ObjectInfo& info) {
    auto id = Id::FromHex(info.key.substr(6));
    if (!id) {
      Warning("index/" + info.key.substr(6) + ": not a cairn object name (ignored)");
    } else {
      segments.push_back(*id);
    }
    return Status::OK();
  }));
  for (const Id& id : segments) {
    auto plain = repo_.LoadObject(ObjectKind::kIndex, id, codec);
    if (!plain) {
      if (!plain.error().Is(ErrorCode::kCorruption) && !plain.error().Is(ErrorCode::kNotFound)) {
        return plain.error();
      }
      Error("index/" + id.Hex() + ": " + plain.error().message());
      continue;
    }
    auto seg = DecodeIndexSegment(*plain);
    if (!seg) {
      Error("index/" + id.Hex() + ": " + seg.error().message());
      continue;
    }
    for (auto& p : seg->packs) {
      indexed_packs_[p.pack] = p.pack_size;
      for (const auto& b : p.blobs) blobs_.emplace(b.id, IndexedBlob{p.pack, b});
      auto& entries = pack_entries_[p.pack];
      entries.insert(entries.end(), p.blobs.begin(), p.blobs.end());
    }
  }
  return Status::OK();
}

void CheckRun::CheckPacksExist() {
  for (const auto& [id, size] : indexed_packs_) {
    auto it = listed_packs_.find(id);
    if (it == listed_packs_.end()) {
      Error("pack " + id.Hex() + ": missing from the store (the index lists " +
            std::to_string(pack_entries_[id].size()) + " blobs in it)");
    } else if (it->second != size) {
      Error("pack " + id.Hex() + ": size " + std::to_string(it->second) + ", the index says " +
            std::to_string(size) + " (truncated or damaged); run `cairn check --read-data`");
    }
  }
  for (const auto& [id, size] : listed_packs_) {
    if (!indexed_packs_.count(id)) {
      Warning("pack " + id.Hex() + ": not in any index (left by an interrupted backup); "
                                   "`cairn index rebuild` indexes it");
    }
  }
}

void CheckRun::CheckTree(const Id& tree, const std::string& path, const std::string& snap,
                         BlobCodec& codec) {
  if (Cancelled() || !trees_seen_.insert(tree).second) return;
  ++result_.trees;
  auto where = [&] { return "snapshot " + snap + ": directory " + path; };
  Status s = ForEachNode(tree, repo_.TreeLoader(codec), [&](Node&& n) -> Status {
    std::string child = path == "/" ? "/" + n.name : path + "/" + n.name;
    if (n.type == NodeType::kDir) {
      CheckTree(n.subtree, child, snap, codec);
    } else if (n.type == NodeType::kFile) {
      uint64_t total = 0;
      for (const Extent& x : n.content) {
        total += x.length;
        if (x.hole) continue;
        auto it = blobs_.find(x.blob);
        if (it == blobs_.end()) {
          Error("snapshot " + snap + ": file " + child + ": data blob " + x.blob.Hex() +
                " is not in the index");
        } else if (it->second.entry.raw_length != x.length) {
          Error("snapshot " + snap + ": file " + child + ": data blob " + x.blob.Short() +
                " length differs from the index");
        }
      }
      if (total != n.size) Error("snapshot " + snap + ": file " + child + ": extents do not add up to its size");
    }
    return Status::OK();
  });
  if (!s.ok()) Error(where() + ": " + s.message());
}

void CheckRun::CheckSnapshots(BlobCodec& codec) {
  std::vector<Id> ids;
  Status s = repo_.store().List("snapshots/", [&](const ObjectInfo& info) {
    if (auto id = Id::FromHex(info.key.substr(10))) ids.push_back(*id);
    return Status::OK();
  });
  if (!s.ok()) return Error("listing snapshots: " + s.message());
  std::sort(ids.begin(), ids.end());
  for (const Id& id : ids) {
    ++result_.snapshots;
    auto plain = repo_.LoadObject(ObjectKind::kSnapshot, id, codec);
    if (!plain) {
      Error("snapshot " + id.Hex() + ": " + plain.error().message());
      continue;
    }
    auto snap = DecodeSnapshot(*plain, id);
    if (!snap) {
      Error(snap.error().message());
      continue;
    }
    CheckTree(snap->tree, "/", id.Short(), codec);
  }
}

void CheckRun::ReadPack(const Id& pack, uint64_t size, BlobCodec& codec) {
  const std::string name = "pack " + pack.Hex();
  auto bytes = repo_.store().Get(PackKey(pack));
  if (!bytes) return Error(name + ": " + bytes.error().message());
  if (Sha256(*bytes) != pack) {
    Error(name + ": checksum mismatch (stored object corrupted)");
  }
  if (bytes->size() != size) {
    Error(name + ": " + std::to_string(bytes->size()) + " bytes, the index says " +
          std::to_string(size));
  }
  const Bytes& all = *bytes;
  auto header = ReadPackHeader(codec, pack, all.size(), [&](uint64_t off, uint64_t len) {
    return Result<Bytes>(Bytes(all.begin() + static_cast<ptrdiff_t>(off),
                               all.begin() + static_cast<ptrdiff_t>(off + len)));
  });
  if (!header) {
    Error(header.error().message());
  } else {
    // The header must list exactly the blobs the index places in the pack.
    std::unordered_map<Id, PackEntry, IdHash> in_header;
    for (const PackEntry& e : *header) in_header.emplace(e.id, e);
    for (const PackEntry& e : pack_entries_[pack]) {
      auto it = in_header.find(e.id);
      if (it == in_header.end() || !(it->second == e)) {
        Error(name + ": the pack header and the index disagree about " +
              std::string(BlobTypeName(e.type)) + " blob " + e.id.Hex());
      }
    }
  }
  // Check every blob the index places in this pack.
  Bytes plain;
  for (const PackEntry& e : pack_entries_[pack]) {
    const std::string blob = std::string(BlobTypeName(e.type)) + " blob " + e.id.Hex();
    if (uint64_t{e.offset} + e.length > all.size()) {
      Error(name + ": " + blob + " lies past the end of the pack (truncated)");
      continue;
    }
    plain.clear();
    Status s = codec.Decode(e.type, e.id, ByteView(all.data() + e.offset, e.length), plain);
    if (!s.ok()) {
      Error(name + ": " + blob + ": " + s.message());
      continue;
    }
    if (plain.size() != e.raw_length || repo_.crypto().BlobId(plain) != e.id) {
      Error(name + ": " + blob + ": content does not match its id");
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  ++result_.packs_read;
}

Result<CheckResult> CheckRun::Run() {
  auto codec = repo_.NewCodec();
  CAIRN_RETURN_IF_ERROR(repo_.store().List("packs/", [&](const ObjectInfo& info) {
    size_t slash = info.key.rfind('/');
    auto id = Id::FromHex(info.key.substr(slash + 1));
    if (!id || PackKey(*id) != info.key) {
      Warning(info.key + ": not a cairn pack name (ignored)");
    } else {
      listed_packs_[*id] = info.size;
    }
    return Status::OK();
  }));
  CAIRN_RETURN_IF_ERROR(LoadIndex(*codec));
  // Tree loads go through the cache. A damaged segment was reported by
  // LoadIndex already; the others still load.
  Status synced = repo_.SyncIndex();
  if (!synced.ok() && !synced.Is(ErrorCode::kCorruption)) return Err(synced);
  result_.packs = listed_packs_.size();
  result_.data_blobs = static_cast<uint64_t>(
      std::count_if(blobs_.begin(), blobs_.end(),
                    [](const auto& kv) { return kv.second.entry.type == BlobType::kData; }));
  CheckPacksExist();
  CheckSnapshots(*codec);
  const int64_t now = NowNs();
  CAIRN_RETURN_IF_ERROR(ListIncompleteWrites(repo_.store(), "", [&](const IncompleteWrite& w) {
    Warning(DescribeIncompleteWrite(w, now));
    std::lock_guard<std::mutex> lock(mu_);
    ++result_.incomplete_writes;
    return Status::OK();
  }));

  if (opts_.read_data && !Cancelled()) {
    std::vector<std::pair<Id, uint64_t>> packs;
    for (const auto& [id, size] : indexed_packs_) {
      if (listed_packs_.count(id)) packs.emplace_back(id, size);
    }
    if (opts_.read_fraction < 1.0) {
      std::mt19937_64 rng(std::random_device{}());
      std::shuffle(packs.begin(), packs.end(), rng);
      size_t n = static_cast<size_t>(static_cast<double>(packs.size()) * opts_.read_fraction + 0.999999);
      packs.resize(std::min(packs.size(), std::max<size_t>(n, packs.empty() ? 0 : 1)));
    }
    size_t threads = opts_.threads ? opts_.threads : 2 * DefaultThreads();
    ThreadPool pool(threads, 2 * threads);
    ObjectPool<BlobCodec> codecs([this] { return repo_.NewCodec(); });
    for (const auto& [id, size] : packs) {
      if (Cancelled()) break;
      pool.Submit([this, &codecs, id = id, size = size] {
        if (Cancelled()) return;
        auto c = codecs.Acquire();
        ReadPack(id, size, *c);
      });
    }
    pool.Wait();
  }
  if (Cancelled()) return Err(Status::Cancelled("check interrupted"));
  std::lock_guard<std::mutex> lock(mu_);
  return result_;
}

}  // namespace

std::string DescribeIncompleteWrite(const IncompleteWrite& w, int64_t now_ns) {
  const int64_t age_s = std::max<int64_t>(0, (now_ns - w.mtime_ns) / kNsPerSecond);
  std::string age = age_s < 120     ? std::to_string(age_s) + " s"
                    : age_s < 7200  ? std::to_string(age_s / 60) + " min"
                    : age_s < 172800 ? std::to_string(age_s / 3600) + " h"
                                     : std::to_string(age_s / 86400) + " days";
  return w.name + ": temporary file of an interrupted write (" + std::to_string(w.size) +
         " bytes, last written " + age +
         " ago), e.g. a backup stopped by a second Ctrl-C; it is not part of the repository: "
         "delete it once no cairn command is writing to the repository";
}

Result<CheckResult> RunCheck(Repository& repo, const CheckOptions& opts,
                             const std::function<void(bool, const std::string&)>& report,
                             const std::atomic<bool>* cancel) {
  CheckRun run(repo, opts, report, cancel);
  return run.Run();
}

}  // namespace cairn
