// SnapshotTree: stored directories (decoding into the TreeCache, the tree
// prefetch, inode binding and readdir). The rest is in snapshot_tree.cc.
#include <sys/stat.h>

#include <algorithm>

#include "fs/snapshot_tree.h"
#include "fs/stored_entry.h"

namespace cairn {

using namespace stored_entry;  // NOLINT: this file is its user

Status SnapshotTree::EnsureDir(const Id& tree, bool quiet) {
  if (trees_.DirCount(tree)) return Status::OK();
  {
    std::unique_lock<std::mutex> lock(decode_mu_);
    decode_cv_.wait(lock, [&] {
      return std::find(decoding_.begin(), decoding_.end(), tree) == decoding_.end();
    });
    if (trees_.DirCount(tree)) return Status::OK();
    decoding_.push_back(tree);
  }
  // Blobs are loaded (maybe from S3) before the write transaction opens, so
  // other threads' inode bindings never wait on the network.
  constexpr size_t kReleaseEvery = 256;
  std::vector<std::pair<std::string, Bytes>> entries;
  auto codec = codecs_.Acquire();
  const TreeLoadFn load =
      trees_by_window_ ? trees_by_window_->Loader(*codec) : repo_.TreeLoader(*codec);
  Status s = ForEachNode(tree, load, [&](Node&& n) -> Status {
    uint64_t stored = 0;
    for (const Extent& x : n.content) {
      if (x.hole) continue;
      if (auto loc = repo_.FindBlob(x.blob)) stored += loc->length;
    }
    entries.emplace_back(n.name, EncodeEntry(n, stored));
    // FindBlob lands on a random page of the blob index each time, and the
    // kernel maps 64 KiB around every fault: a few thousand lookups map the
    // whole index. Dropping those mappings every kReleaseEvery entries
    // (one madvise each) caps what one decode adds to the RSS at ~16 MiB.
    if (entries.size() % kReleaseEvery == 0) repo_.cache().ReleaseMappedPages();
    return Status::OK();
  });
  if (s.ok()) {
    s = trees_.PutDir(tree, [&](const TreeCache::AddEntryFn& add) -> Status {
      for (const auto& [name, value] : entries) CAIRN_RETURN_IF_ERROR(add(name, value));
      return Status::OK();
    });
  }
  if (entries.size() >= kReleaseEvery) repo_.cache().ReleaseMappedPages();
  // The decoded entries (~200 bytes each) are freed into this thread's
  // malloc arena, which keeps them: the upkeep thread trims a large
  // directory's at its next check (off this request's path).
  if (entries.size() >= 4096) upkeep_.TrimSoon();
  upkeep_.Busy();
  {
    std::lock_guard<std::mutex> lock(decode_mu_);
    decoding_.erase(std::find(decoding_.begin(), decoding_.end(), tree));
  }
  decode_cv_.notify_all();
  if (!s.ok()) {
    s = s.WithContext("directory tree " + tree.Short());
    if (!quiet) log_.Error("mount: {}", s.message());
  }
  return s;
}

void SnapshotTree::PrefetchDir(const TreePrefetcher::Job& job) {
  // A directory decoded by an earlier mount (or listed already) is listed
  // ahead too: on a remount the walker's listing would otherwise read its
  // LMDB pages from disk while it waits (a warm tar's READDIRPLUS took
  // 108 us on average). Bind then only reads.
  if (!listings_.FirstListing(job.ino)) return;  // listed, or prepared, in this mount already
  if (!EnsureDir(job.tree, /*quiet=*/true).ok()) return;
  Dir d;
  d.ino = job.ino;
  d.snap = job.snap;
  d.tree = job.tree;
  d.parent = job.parent;
  auto count = trees_.DirCount(job.tree);
  const bool small = count && *count <= kReadDirMaxBatch;
  std::vector<TreePrefetcher::Job> subdirs;
  ListingCache::Listing ready;
  if (!small) {
    if (!BindAll(d, job.depth > 1 ? &subdirs : nullptr, job.depth - 1).ok()) return;
  } else {
    // The jobs the listing's ReadDir will push (full depth), and from them
    // the prefetcher's own next level.
    if (!BindAll(d, &ready.subdirs, opts_.prefetch_depth, &ready.entries).ok()) return;
    if (job.depth > 1) {
      subdirs = ready.subdirs;
      for (auto& j : subdirs) j.depth = job.depth - 1;
    }
    listings_.Put(job.ino, std::move(ready));
  }
  prefetched_.fetch_add(1, std::memory_order_relaxed);  // counted once it is ready
  prefetch_->Push(std::move(subdirs));
}

Status SnapshotTree::ScanEntries(const Id& tree, uint64_t from,
                              const std::function<bool(uint64_t, Node&&, uint64_t)>& fn) {
  Status decode_error;
  CAIRN_RETURN_IF_ERROR(trees_.ScanDir(tree, from, [&](uint64_t ord, std::string_view name,
                                                          ByteView value) {
    auto decoded = DecodeEntry(value, name);
    if (!decoded) {
      decode_error = decoded.error();
      return false;
    }
    return fn(ord, std::move(decoded->first), decoded->second);
  }));
  return decode_error;
}

Result<std::vector<FsDirEntry>> SnapshotTree::StoredEntries(const Dir& d, uint64_t from, size_t max) {
  std::vector<Resolved> rs;
  std::vector<uint64_t> ordinals;
  CAIRN_RETURN_IF_ERROR(ScanEntries(d.tree, from, [&](uint64_t ord, Node&& node, uint64_t stored) {
    Resolved& r = rs.emplace_back();
    r.snap = d.snap;
    r.node = std::move(node);
    r.stored_bytes = stored;
    ordinals.push_back(ord);
    return rs.size() < max;
  }));
  std::vector<TreeCache::Binding> bs;
  bs.reserve(rs.size());
  for (size_t i = 0; i < rs.size(); ++i) {
    bs.push_back(MakeBinding(d.snap, d.ino, d.tree, rs[i].node, ordinals[i]));
  }
  CAIRN_RETURN_IF_ERROR(trees_.Bind(bs));
  CAIRN_RETURN_IF_ERROR(CheckBound(bs));
  std::vector<FsDirEntry> out(rs.size());
  for (size_t i = 0; i < rs.size(); ++i) {
    rs[i].ino = bs[i].ino;
    out[i].name = rs[i].node.name;
    out[i].attr = AttrOf(rs[i]);
    out[i].next_offset = ordinals[i] + 3;
  }
  return out;
}

Status SnapshotTree::BindAll(const Dir& d, std::vector<TreePrefetcher::Job>* subdirs, int depth,
                          std::vector<FsDirEntry>* listing) {
  constexpr size_t kChunk = 8192;
  const size_t first_subdir = subdirs ? subdirs->size() : 0;
  for (uint64_t from = 0;;) {
    std::vector<TreeCache::Binding> bs;
    std::vector<std::pair<size_t, Id>> dirs;  // index in bs, subtree
    std::vector<Resolved> rs;                 // listing: the entries, in order,
    std::vector<uint64_t> ordinals;           // and their ordinals
    CAIRN_RETURN_IF_ERROR(ScanEntries(d.tree, from, [&](uint64_t ord, Node&& node, uint64_t stored) {
      if (subdirs && node.type == NodeType::kDir) dirs.emplace_back(bs.size(), node.subtree);
      bs.push_back(MakeBinding(d.snap, d.ino, d.tree, node, ord));
      if (listing) {
        Resolved& r = rs.emplace_back();
        r.snap = d.snap;
        r.node = std::move(node);
        r.stored_bytes = stored;
        r.parent = d.ino;
        ordinals.push_back(ord);
      }
      from = ord + 1;
      return bs.size() < kChunk;
    }));
    CAIRN_RETURN_IF_ERROR(trees_.Bind(bs));
    CAIRN_RETURN_IF_ERROR(CheckBound(bs));
    for (const auto& [i, subtree] : dirs) {
      subdirs->push_back(TreePrefetcher::Job{d.snap, bs[i].ino, d.ino, subtree, depth});
    }
    for (size_t i = 0; i < rs.size(); ++i) {
      rs[i].ino = bs[i].ino;
      listing->push_back(FsDirEntry{rs[i].node.name, AttrOf(rs[i]), ordinals[i] + 3});
    }
    upkeep_.Busy();
    if (bs.size() < kChunk) break;
  }
  if (subdirs) std::reverse(subdirs->begin() + static_cast<ptrdiff_t>(first_subdir), subdirs->end());
  return Status::OK();
}

Status SnapshotTree::ReadDir(uint64_t ino, uint64_t offset, const DirFiller& fn) {
  CAIRN_ASSIGN_OR_RETURN(Dir d, DirOf(ino));
  if (!ListDots(ino, d.parent, offset, fn)) return Status::OK();
  uint64_t from = offset < 2 ? 0 : offset - 2;
  // Whether the files of this listing carry attributes (ListingPolicy);
  // subdirectories always do, and so does every entry of a directory too
  // large for one batch.
  bool file_attrs = offset == 0 ? listing_policy_.StartListing() : listing_policy_.Continuing();
  auto emit = [&](FsDirEntry& e) {
    e.with_attributes = file_attrs || S_ISDIR(e.attr.mode);
    return fn(e);
  };
  if (offset == 0 && prefetch_) {
    if (auto ready = listings_.Take(ino)) {  // small, so the policy decides
      prefetch_->Push(std::move(ready->subdirs));
      for (auto& e : ready->entries) {
        if (!emit(e)) return Status::OK();
      }
      return Status::OK();
    }
  }
  if (offset == 0 && prefetch_) listings_.FirstListing(ino);  // no prefetch job prepares it again
  CAIRN_RETURN_IF_ERROR(EnsureDir(d.tree));
  upkeep_.Busy();
  std::optional<uint64_t> count;
  if (offset == 0 || !file_attrs) count = trees_.DirCount(d.tree);
  const bool small = count && *count <= kReadDirMaxBatch;
  if (!small) file_attrs = true;
  if (offset == 0) {
    // A listing from the start binds every entry; a directory that fits
    // in one batch is answered from that same pass (no second scan,
    // decode and probe of its entries).
    std::vector<TreePrefetcher::Job> subdirs;
    std::vector<FsDirEntry> listing;
    CAIRN_RETURN_IF_ERROR(BindAll(d, prefetch_ ? &subdirs : nullptr, opts_.prefetch_depth,
                                  small ? &listing : nullptr));
    if (prefetch_) prefetch_->Push(std::move(subdirs));
    if (small) {
      for (auto& e : listing) {
        if (!emit(e)) return Status::OK();
      }
      return Status::OK();
    }
  }
  for (size_t n = kReadDirFirstBatch;; n = std::min(n * 4, kReadDirMaxBatch)) {
    CAIRN_ASSIGN_OR_RETURN(auto batch, StoredEntries(d, from, n));
    for (auto& e : batch) {
      if (!emit(e)) return Status::OK();
    }
    if (batch.size() < n) return Status::OK();
    from = batch.back().next_offset - 2;
  }
}

}  // namespace cairn
