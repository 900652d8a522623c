// The walk of a backup over its Source: list, stat, compare with the
// parent snapshot's nodes, read what changed, and hand every directory to
// the TreeSaver. See repo/backup_run.h for the threads.
#include <algorithm>

#include "repo/backup_run.h"
#include "repo/local_fs.h"

namespace cairn {

namespace {

const Node* FindNode(const std::vector<Node>* nodes, const std::string& name) {
  if (!nodes) return nullptr;
  auto it = std::lower_bound(nodes->begin(), nodes->end(), name,
                             [](const Node& n, const std::string& k) { return n.name < k; });
  return it != nodes->end() && it->name == name ? &*it : nullptr;
}

}  // namespace

// Walks the named paths from the root and returns the root's tree id once
// every directory is written (zero when the run stopped).
Id BackupRun::Walk(const VirtualDir& root, const std::optional<Snapshot>& parent) {
  Dir* top = trees_->Root("/");
  // A source without identities (stdin) is not compared with the parent.
  const bool compare = parent && source_.ComparesWithParent();
  std::vector<Node> parent_root;
  if (compare) parent_root = LoadParentTree(parent->tree);
  EntryInfo top_info;
  uint64_t root_dev = 0;
  if (root.target) {
    if (auto info = source_.Stat("/", false)) {
      top_info = *info;
      root_dev = info->device;
    }
  }
  WalkDir(top, top_info, root.target ? nullptr : &root, compare ? &parent_root : nullptr,
          root_dev);
  trees_->Release(top);
  return trees_->Wait();
}

std::vector<Node> BackupRun::LoadParentTree(const Id& subtree) {
  auto codec = saver_->codecs().Acquire();
  auto nodes = ReadTree(subtree, repo_.TreeLoader(*codec));
  if (!nodes) {
    // Not fatal: without the parent's tree every file is read again.
    repo_.logger().Warn("parent tree {} unreadable ({}); reading files again", subtree.Short(),
                        nodes.error().message());
    return {};
  }
  return std::move(*nodes);
}

void BackupRun::WalkDir(Dir* d, const EntryInfo& info, const VirtualDir* virt,
                        const std::vector<Node>* parent_nodes, uint64_t root_dev) {
  std::vector<std::string> names;
  if (virt) {
    for (const auto& [name, child] : virt->children) names.push_back(name);
  } else {
    auto listed = source_.List(d->path(), info);
    if (!listed) {
      // The directory itself is kept (with its metadata), its entries are not.
      return Unreadable(d->path(), listed.error());
    }
    names = std::move(*listed);
  }
  d->Resize(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    if (Cancelled()) {
      for (size_t j = i; j < names.size(); ++j) d->Drop(j);
      return;
    }
    const VirtualDir* child_virt = nullptr;
    bool is_virtual = false;
    if (virt) {
      const VirtualDir& c = virt->children.at(names[i]);
      is_virtual = true;
      child_virt = c.target ? nullptr : &c;
    }
    VisitEntry(d, i, names[i], is_virtual, child_virt, FindNode(parent_nodes, names[i]),
               root_dev);
  }
}

void BackupRun::VisitEntry(Dir* d, size_t slot, const std::string& name, bool is_virtual,
                           const VirtualDir* virt, const Node* prev, uint64_t root_dev) {
  std::string path = JoinPath(d->path(), name);
  Node& node = d->node(slot);
  node.name = name;
  if (!is_virtual && source_.Excluded(path, name)) return d->Drop(slot);
  // Ancestors of the named paths are followed (they only hold the path);
  // everything else is recorded as it is, symlinks included.
  auto stat = source_.Stat(path, virt != nullptr);
  if (!stat) return Skip(d, slot, path, stat.error());
  const EntryInfo& info = *stat;
  if (is_virtual && !virt) root_dev = info.device;  // a named path: --one-file-system root

  // An unchanged file: same identity and times, and its blobs still exist.
  if (info.type == NodeType::kFile && prev && !opts_.force_read &&
      prev->type == NodeType::kFile && prev->size == info.size && prev->inode == info.inode &&
      prev->mtime_ns == info.mtime_ns && prev->ctime_ns == info.ctime_ns &&
      std::all_of(prev->content.begin(), prev->content.end(), [&](const Extent& e) {
        return e.hole || saver_->Known(e.blob);
      })) {
    node = *prev;  // ctime unchanged: mode, owner and xattrs are unchanged too
    node.name = name;
    CountAcl(node);
    node.atime_ns = info.atime_ns;
    node.nlink = info.nlink;
    return CountUnmodified(node.size);
  }

  FillNode(info, node);
  auto xattrs = source_.ReadXattrs(path, info);
  if (!xattrs) return Skip(d, slot, path, xattrs.error());
  node.xattrs = std::move(*xattrs);
  CountAcl(node);

  // Content the source knows is stored (its metadata alone changed).
  if (info.type == NodeType::kFile && !opts_.force_read) {
    if (auto known = source_.KnownContent(path, info);
        known && std::all_of(known->content.begin(), known->content.end(),
                              [&](const Extent& e) { return e.hole || saver_->Known(e.blob); })) {
      node.size = known->size;
      node.content = std::move(known->content);
      node.sha256 = known->sha256;
      if (!known->new_content) return CountUnmodified(node.size);
      files_.fetch_add(1, std::memory_order_relaxed);
      (prev ? changed_ : new_).fetch_add(1, std::memory_order_relaxed);
      bytes_.fetch_add(node.size, std::memory_order_relaxed);
      progress_->files_done.fetch_add(1, std::memory_order_relaxed);
      progress_->bytes_done.fetch_add(node.size, std::memory_order_relaxed);
      return;
    }
  }

  switch (info.type) {
    case NodeType::kFile: {
      trees_->Hold(d);
      bool changed = prev != nullptr;
      readers_->Submit([this, d, slot, path = std::move(path), info, changed] {
        ReadFileJob(d, slot, path, info, changed);
      });
      return;
    }
    case NodeType::kSymlink: {
      auto target = source_.ReadLink(path, info);
      if (!target) return Skip(d, slot, path, target.error());
      node.symlink_target = std::move(*target);
      node.size = node.symlink_target.size();
      others_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    case NodeType::kDir:
      dirs_.fetch_add(1, std::memory_order_relaxed);
      if (!virt && ReuseUnchanged(d, slot, path, info, prev)) return;
      return WalkChild(d, slot, std::move(path), info, virt, prev, root_dev);
    default:
      others_.fetch_add(1, std::memory_order_relaxed);
      return;
  }
}

void BackupRun::CountUnmodified(uint64_t size) {
  files_.fetch_add(1, std::memory_order_relaxed);
  unmodified_.fetch_add(1, std::memory_order_relaxed);
  bytes_.fetch_add(size, std::memory_order_relaxed);
  progress_->files_done.fetch_add(1, std::memory_order_relaxed);
  progress_->bytes_done.fetch_add(size, std::memory_order_relaxed);
}

bool BackupRun::ReuseUnchanged(Dir* d, size_t slot, const std::string& path,
                               const EntryInfo& info, const Node* prev) {
  const Node* prev_dir = prev && prev->type == NodeType::kDir ? prev : nullptr;
  std::optional<Id> tree = source_.UnchangedSubtree(path, info, prev_dir);
  if (!tree) return false;
  trees_->Reuse(d, slot, *tree);
  return true;
}

void BackupRun::WalkChild(Dir* d, size_t slot, std::string path, const EntryInfo& info,
                          const VirtualDir* virt, const Node* prev, uint64_t root_dev) {
  Dir* child = trees_->Child(d, slot, std::move(path));
  if (!virt && source_.SkipContents(info, root_dev)) {
    trees_->Release(child);  // kept with its metadata and no entries
    return;
  }
  // Directories are listed in parallel: on a cold cache every lstat may
  // wait for the disk, and one walker thread would leave it idle.
  const bool has_prev = prev != nullptr;
  const Id prev_tree = prev && prev->type == NodeType::kDir ? prev->subtree : Id();
  walkers_->Submit([this, child, info, virt, has_prev, prev_tree, root_dev] {
    std::vector<Node> parent_nodes;
    if (!prev_tree.IsZero() && !Cancelled()) parent_nodes = LoadParentTree(prev_tree);
    WalkDir(child, info, virt, has_prev ? &parent_nodes : nullptr, root_dev);
    trees_->Release(child);
  });
}

void BackupRun::ReadFileJob(Dir* d, size_t slot, const std::string& path, const EntryInfo& info,
                            bool changed) {
  Node& node = d->node(slot);
  if (Cancelled()) {
    d->Drop(slot);
    return trees_->Release(d);
  }
  Result<FileContent> content;
  {
    auto file = source_.Open(path, info);
    if (!file) {
      Skip(d, slot, path, file.error());
      return trees_->Release(d);
    }
    const EntryInfo& opened = (*file)->info();
    if (opened.inode != node.inode || opened.size != node.size) {
      FillNode(opened, node);  // replaced or changed since it was listed
    }
    content = file_reader_->Read(**file, cancel_);
    // The snapshot keeps the bytes read (hash and size agree with them) and
    // the times from before the read, so the next backup reads it again.
    if (content && (*file)->ChangedWhileRead(content->size) && observer_) {
      observer_->Warning(path, "file changed while being read; the snapshot holds the bytes read");
    }
  }  // closed before the directory may be finished
  if (!content) {
    Skip(d, slot, path, content.error());
    return trees_->Release(d);
  }
  node.size = content->size;
  node.content = std::move(content->extents);
  node.sha256 = content->sha256;
  files_.fetch_add(1, std::memory_order_relaxed);
  (changed ? changed_ : new_).fetch_add(1, std::memory_order_relaxed);
  bytes_.fetch_add(node.size, std::memory_order_relaxed);
  bytes_read_.fetch_add(content->bytes_read, std::memory_order_relaxed);
  progress_->files_done.fetch_add(1, std::memory_order_relaxed);
  progress_->bytes_done.fetch_add(node.size, std::memory_order_relaxed);
  trees_->Release(d);
}

void BackupRun::Scan(const std::string& path, const EntryInfo& top) {
  // Totals for the progress display only; errors are the walker's to report.
  const uint64_t root_dev = top.device;
  std::vector<std::pair<std::string, EntryInfo>> stack{{path, top}};
  while (!stack.empty() && !Cancelled()) {
    auto [dir, dir_info] = std::move(stack.back());
    stack.pop_back();
    auto names = source_.List(dir, dir_info);
    if (!names) continue;
    for (const auto& n : *names) {
      std::string p = JoinPath(dir, n);
      if (source_.Excluded(p, n)) continue;
      auto info = source_.Stat(p, false);
      if (!info) continue;
      if (info->type == NodeType::kFile) {
        progress_->files_total.fetch_add(1, std::memory_order_relaxed);
        progress_->bytes_total.fetch_add(info->size, std::memory_order_relaxed);
      } else if (info->type == NodeType::kDir && !source_.SkipContents(*info, root_dev)) {
        stack.emplace_back(std::move(p), *info);
      }
    }
  }
}

}  // namespace cairn
