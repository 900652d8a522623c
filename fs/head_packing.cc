// HeadTree: its side of background packing (fs/head_packer.h). A file
// whose content changes joins pack_queue (once; keyed by inode, since
// rsync renames a file right after writing it); the packer takes the
// first file idle for opts.packer.idle_ns, or any file queued longer than
// opts.packer.max_age_ns, and hands back its content as stored blobs. The
// result is kept in the node with the write_gen it was read at: a write or
// truncate after that bumps write_gen and queues the file again, so the
// seal (KnownContent, fs/head_seal.cc) takes only results of the bytes the
// file still has.
#include "common/clock.h"
#include "fs/head_state.h"

namespace cairn {

class HeadTree::PackHost final : public HeadPacker::Host {
 public:
  explicit PackHost(HeadTree& t) : t_(t) {}

  std::optional<HeadPacker::Job> NextJob(bool all, int64_t* wait_ns) override {
    State& s = *t_.s_;
    const HeadPackerOptions& o = t_.opts_.packer;
    std::lock_guard<std::mutex> lock(s.mu);
    const int64_t now = NowNs();
    for (auto it = s.pack_queue.begin(); it != s.pack_queue.end();) {
      const auto [queued, ino] = *it;
      HeadNode* n = t_.FindLocked(ino);
      if (!n || !NeedsPack(*n)) {  // gone, sealed, or packed meanwhile
        s.pack_queued.erase(ino);
        it = s.pack_queue.erase(it);
        continue;
      }
      const bool idle = now - n->last_write_ns >= o.idle_ns;
      const bool aged = now - queued >= o.max_age_ns;
      if (all || idle || aged) {
        s.pack_queued.erase(ino);
        s.pack_queue.erase(it);
        return JobLocked(*n);
      }
      *wait_ns = std::min({*wait_ns, n->last_write_ns + o.idle_ns - now, queued + o.max_age_ns - now});
      // Every file behind this one was queued later, so written later: not
      // idle either, nor aged.
      if (queued > now - o.idle_ns) break;
      ++it;
    }
    return std::nullopt;
  }

  void JobCancelled(const HeadPacker::Job& job) override {
    std::lock_guard<std::mutex> lock(t_.s_->mu);
    auto it = t_.s_->nodes.find(job.ino);
    if (it != t_.s_->nodes.end() && NeedsPack(it->second)) t_.QueuePackLocked(it->second);
  }

  void JobDone(const HeadPacker::Job& job, FileContent content) override {
    State& s = *t_.s_;
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.nodes.find(job.ino);
    if (it == s.nodes.end()) return;
    HeadNode& n = it->second;
    // Written, cut or sealed since it was read: the bytes packed are not
    // the file's any more.
    if (n.write_gen != job.gen || s.base_gen != job.base_gen || !NeedsPack(n) ||
        content.size != n.meta.size) {
      return;
    }
    auto p = std::make_shared<HeadPacked>();
    p->gen = job.gen;
    p->size = content.size;
    p->content = std::move(content.extents);
    p->sha256 = content.sha256;
    n.packed = std::move(p);
  }

 private:
  HeadPacker::Job JobLocked(const HeadNode& n) {
    HeadContent c;
    c.ino = n.ino;
    c.size = n.meta.size;
    c.base_len = std::min(n.base_len, c.size);
    c.staged = n.staged;
    c.meta = n.meta;
    EntryInfo info;
    info.type = NodeType::kFile;
    info.size = c.size;
    HeadPacker::Job job;
    job.ino = n.ino;
    job.gen = n.write_gen;
    job.base_gen = t_.s_->base_gen;
    job.file = std::make_unique<HeadSourceFile>(*t_.s_->staging, t_.reader_, std::move(c), info);
    return job;
  }

  HeadTree& t_;
};

bool HeadTree::NeedsPack(const HeadNode& n) {
  if (!n.is_file() || n.unlinked || n.meta.size == 0) return false;
  if (!n.content_changed && n.base_len >= n.meta.size) return false;  // the stored content
  return !n.packed || n.packed->gen != n.write_gen;
}

void HeadTree::QueuePackLocked(HeadNode& n) {
  n.packed.reset();
  if (!s_->packer || !s_->pack_queued.insert(n.ino).second) return;
  s_->pack_queue.emplace_back(NowNs(), n.ino);
}

void HeadTree::StartPacking() {
  State& s = *s_;
  {
    // After a restart the results are gone (they live in memory): every
    // changed file is packed again; its blobs mostly dedup against the
    // packs already stored (the pack journal indexes a killed run's).
    std::lock_guard<std::mutex> lock(s.mu);
    for (auto& [ino, n] : s.nodes) {
      if (NeedsPack(n)) {
        s.pack_queued.insert(ino);
        s.pack_queue.emplace_back(n.changed_ns, ino);
      }
    }
  }
  s.pack_host = std::make_unique<PackHost>(*this);
  auto packer = std::make_unique<HeadPacker>(repo_, *s.pack_host, opts_.packer);
  std::lock_guard<std::mutex> lock(s.mu);
  s.packer = std::move(packer);
}

void HeadTree::StopPacking() {
  std::unique_ptr<HeadPacker> packer;
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    packer = std::move(s_->packer);
  }
  packer.reset();  // joins the worker, which takes mu
}

Status HeadTree::StoreStaged(const std::atomic<bool>* cancel) {
  HeadPacker* packer = nullptr;
  {
    // Set in Open and reset in the destructor only: valid while the tree is.
    std::lock_guard<std::mutex> lock(s_->mu);
    packer = s_->packer.get();
  }
  if (!packer) return Status::OK();
  return packer->Drain(cancel);
}

}  // namespace cairn
