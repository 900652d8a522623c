// A small writable Tree for tests of the router and of the FUSE session
// without HeadTree: one flat directory (its root, in the head range) of
// regular files held in memory, with a record of what the session asked
// (fsyncs, fallocates, setattr sizes, open flags).
#pragma once

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "fs/layout_tree.h"
#include "fs/tree.h"

namespace cairn::test {

class FakeWritableTree final : public Tree {
 public:
  static constexpr uint64_t kRootIno = InoOfKind(TreeKind::kHead, 1);

  explicit FakeWritableTree(TreeHost& host) : Tree(host) {
    FsAttr root;
    root.ino = kRootIno;
    root.mode = S_IFDIR | 0755;
    root.nlink = 2;
    nodes_[kRootIno] = Node{root, ""};
  }

  TreePolicy Policy() const override {
    TreePolicy p;
    p.writable = true;
    p.needs_open = true;
    p.keep_cache = false;
    return p;
  }

  // What the session asked, for the test to check.
  struct Record {
    int fsyncs = 0, datasyncs = 0, fallocates = 0;
    std::vector<uint64_t> setattr_sizes;
    std::vector<int> open_flags;
    bool setattr_had_file = false;
  };
  Record record() {
    std::lock_guard lock(mu_);
    return record_;
  }
  FsSpaceInfo space{uint64_t{1} << 30, uint64_t{1} << 29, 0};

  Result<FsAttr> Lookup(uint64_t parent, std::string_view name) override {
    std::lock_guard lock(mu_);
    if (parent != kRootIno) return Err(Status::NotADirectory("not a directory"));
    auto it = names_.find(std::string(name));
    if (it == names_.end()) return Err(Status::NotFound(std::string(name)));
    return nodes_.at(it->second).attr;
  }
  Result<FsAttr> GetAttr(uint64_t ino) override {
    std::lock_guard lock(mu_);
    CAIRN_ASSIGN_OR_RETURN(Node * n, Find(ino));
    return n->attr;
  }
  Status ReadDir(uint64_t ino, uint64_t offset, const DirFiller& fn) override {
    std::lock_guard lock(mu_);
    if (ino != kRootIno) return Status::NotADirectory("not a directory");
    // ".." is the layout root: the session maps it to its own root.
    if (!ListDots(ino, LayoutTree::kRootIno, offset, fn)) return Status::OK();
    uint64_t cookie = 2;
    for (const auto& [name, child] : names_) {
      if (cookie++ < offset) continue;
      if (!fn(FsDirEntry{name, nodes_.at(child).attr, cookie})) break;
    }
    return Status::OK();
  }
  Result<std::unique_ptr<OpenFile>> Open(uint64_t ino, int flags) override {
    std::lock_guard lock(mu_);
    CAIRN_RETURN_IF_ERROR(Find(ino));
    record_.open_flags.push_back(flags);
    auto f = std::make_unique<OpenFile>();
    f->ino = ino;
    return f;
  }
  Result<size_t> Read(OpenFile& f, uint64_t offset, std::span<uint8_t> out) override {
    return ReadIno(f.ino, offset, out);
  }
  Result<size_t> ReadIno(uint64_t ino, uint64_t offset, std::span<uint8_t> out) override {
    std::lock_guard lock(mu_);
    CAIRN_ASSIGN_OR_RETURN(Node * n, Find(ino));
    if (offset >= n->data.size()) return size_t{0};
    size_t k = std::min(out.size(), n->data.size() - offset);
    std::memcpy(out.data(), n->data.data() + offset, k);
    return k;
  }
  Result<std::string> ReadLink(uint64_t) override {
    return Err(Status::InvalidArgument("not a symlink"));
  }
  Result<std::string> GetXattr(uint64_t, std::string_view name) override {
    return Err(Status::NotFound(std::string(name)));
  }
  Result<std::vector<std::string>> ListXattr(uint64_t) override {
    return std::vector<std::string>{};
  }
  std::optional<std::pair<std::string, uint64_t>> NameOf(uint64_t ino) override {
    std::lock_guard lock(mu_);
    if (ino == kRootIno) return std::make_pair(std::string("head"), LayoutTree::kRootIno);
    for (const auto& [name, child] : names_) {
      if (child == ino) return std::make_pair(name, kRootIno);
    }
    return std::nullopt;
  }
  std::optional<FsSpaceInfo> StatFs() override {
    std::lock_guard lock(mu_);
    FsSpaceInfo s = space;
    s.files = nodes_.size();
    return s;
  }
  Result<FsAttr> SetAttr(uint64_t ino, const FsSetAttr& c, OpenFile* f) override {
    std::lock_guard lock(mu_);
    CAIRN_ASSIGN_OR_RETURN(Node * n, Find(ino));
    if (c.mode) n->attr.mode = (n->attr.mode & S_IFMT) | *c.mode;
    if (c.uid) n->attr.uid = *c.uid;
    if (c.gid) n->attr.gid = *c.gid;
    if (c.size) {
      record_.setattr_sizes.push_back(*c.size);
      n->data.resize(*c.size);
      n->attr.size = *c.size;
    }
    if (c.mtime_ns) n->attr.mtime_ns = *c.mtime_ns;
    if (c.atime_ns) n->attr.atime_ns = *c.atime_ns;
    if (f) record_.setattr_had_file = true;
    return n->attr;
  }
  Result<Created> Create(uint64_t parent, std::string_view name, uint32_t mode, int,
                         const FsCaller& who) override {
    std::lock_guard lock(mu_);
    if (parent != kRootIno) return Err(Status::NotADirectory("not a directory"));
    if (names_.count(std::string(name))) return Err(Status::AlreadyExists(std::string(name)));
    FsAttr a;
    a.ino = InoOfKind(TreeKind::kHead, next_++);
    a.mode = S_IFREG | (mode & 07777);
    a.uid = who.uid;
    a.gid = who.gid;
    nodes_[a.ino] = Node{a, ""};
    names_[std::string(name)] = a.ino;
    Created c;
    c.attr = a;
    c.file = std::make_unique<OpenFile>();
    c.file->ino = a.ino;
    return c;
  }
  Result<size_t> Write(uint64_t ino, OpenFile*, uint64_t offset,
                       std::span<const uint8_t> data) override {
    std::lock_guard lock(mu_);
    CAIRN_ASSIGN_OR_RETURN(Node * n, Find(ino));
    if (n->data.size() < offset + data.size()) n->data.resize(offset + data.size());
    std::memcpy(n->data.data() + offset, data.data(), data.size());
    n->attr.size = n->data.size();
    return data.size();
  }
  Status Unlink(uint64_t parent, std::string_view name) override {
    std::lock_guard lock(mu_);
    if (parent != kRootIno) return Status::NotADirectory("not a directory");
    auto it = names_.find(std::string(name));
    if (it == names_.end()) return Status::NotFound(std::string(name));
    nodes_.erase(it->second);
    names_.erase(it);
    return Status::OK();
  }
  Status Fsync(uint64_t ino, OpenFile*, bool datasync) override {
    std::lock_guard lock(mu_);
    CAIRN_RETURN_IF_ERROR(Find(ino));
    ++(datasync ? record_.datasyncs : record_.fsyncs);
    return Status::OK();
  }
  Status Fallocate(uint64_t ino, OpenFile*, int, uint64_t offset, uint64_t length) override {
    std::lock_guard lock(mu_);
    CAIRN_ASSIGN_OR_RETURN(Node * n, Find(ino));
    ++record_.fallocates;
    if (n->data.size() < offset + length) n->data.resize(offset + length);
    n->attr.size = n->data.size();
    return Status::OK();
  }

 private:
  struct Node {
    FsAttr attr;
    std::string data;
  };
  // Callers hold mu_.
  Result<Node*> Find(uint64_t ino) {
    auto it = nodes_.find(ino);
    if (it == nodes_.end()) return Err(Status::NotFound("inode " + std::to_string(ino)));
    return &it->second;
  }

  std::mutex mu_;
  std::map<uint64_t, Node> nodes_;        // guarded by mu_
  std::map<std::string, uint64_t> names_;  // the root's entries; guarded by mu_
  uint64_t next_ = 2;                      // guarded by mu_
  Record record_;                          // guarded by mu_
};

}  // namespace cairn::test
