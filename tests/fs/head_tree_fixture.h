// The HeadTree test fixture (tests/fs/head_tree_test.cc, head_packer_test.cc):
// a repository on a MemoryStore (behind a counting FaultyStore), head/ on a
// staging directory in /tmp, and helpers that do what the kernel would.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "fs/head_tree.h"
#include "tests/support/borrowed_store.h"
#include "tests/support/faulty_store.h"
#include "tests/support/memory_store.h"
#include "tests/support/test_data.h"

namespace cairn {

class HeadTestHost final : public TreeHost {
 public:
  Tree* tree = nullptr;
  std::string PathOf(uint64_t ino) override { return "ino " + std::to_string(ino); }
  Result<FsAttr> GetAttr(uint64_t ino) override { return tree->GetAttr(ino); }
};

inline const FsCaller kUser{1000, 1000};

class HeadTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cairn-head-XXXXXX";
    root_ = mkdtemp(tmpl);
    InitOptions init;
    init.kdf.n = 1 << 10;
    if (pack_size_) init.pack_size = pack_size_;
    auto r = Repository::Init(std::make_unique<BorrowedStore>(faulty_), "pw", init, Options());
    ASSERT_TRUE(r) << r.error().message();
    Reopen();
  }
  void TearDown() override {
    head_.reset();
    reader_.reset();
    repo_.reset();
    std::filesystem::remove_all(root_);
  }
  OpenOptions Options() {
    OpenOptions o;
    o.cache_dir = root_ + "/cache";
    return o;
  }
  HeadTreeOptions HeadOptions() {
    HeadTreeOptions o;
    o.staging_dir = root_ + "/" + staging_name_;
    o.series = series_;
    o.hostname = "web1";
    o.staging_limit = staging_limit_;
    o.seal_threads = 2;
    o.packer = packer_;
    return o;
  }
  // Closes head/ (as an unmount or a crash of the daemon after its last
  // acknowledged change would) and opens it again from its journal.
  void Reopen() {
    head_.reset();
    reader_.reset();
    repo_.reset();
    auto repo = Repository::Open(std::make_unique<BorrowedStore>(faulty_), "pw", Options());
    ASSERT_TRUE(repo) << repo.error().message();
    repo_ = std::move(*repo);
    reader_ = std::make_unique<ContentReader>(*repo_, nullptr, ContentReaderOptions{});
    auto head = HeadTree::Open(host_, *repo_, *reader_, LocalFiles::Posix(), HeadOptions());
    ASSERT_TRUE(head) << head.error().message();
    head_ = std::move(*head);
    host_.tree = head_.get();
  }

  // --- path helpers ---
  Result<FsAttr> Walk(const std::string& path) {
    FsAttr a;
    a.ino = HeadTree::kRootIno;
    for (const auto& part : std::filesystem::path(path)) {
      if (part.empty() || part == "/") continue;
      CAIRN_ASSIGN_OR_RETURN(a, head_->Lookup(a.ino, part.string()));
    }
    return a;
  }
  uint64_t Ino(const std::string& path) {
    auto a = Walk(path);
    EXPECT_TRUE(a) << path << ": " << a.error().message();
    return a ? a->ino : 0;
  }
  std::pair<uint64_t, std::string> Split(const std::string& path) {
    auto p = std::filesystem::path(path);
    return {Ino(p.parent_path().string()), p.filename().string()};
  }
  Status WriteFile(const std::string& path, const std::string& data, uint32_t mode = 0644) {
    auto [dir, name] = Split(path);
    auto c = head_->Create(dir, name, mode, O_WRONLY | O_CREAT, kUser);
    if (!c) return c.error();
    Status st = WriteAt(c->attr.ino, c->file.get(), 0, data);
    Status rel = head_->Release(std::move(c->file));
    return st.ok() ? rel : st;
  }
  Status WriteAt(uint64_t ino, OpenFile* f, uint64_t off, const std::string& data) {
    // In 128 KiB requests, like the kernel.
    for (size_t pos = 0; pos < data.size(); pos += 128 << 10) {
      const size_t n = std::min<size_t>(128 << 10, data.size() - pos);
      auto w = head_->Write(ino, f, off + pos,
                            std::span(reinterpret_cast<const uint8_t*>(data.data() + pos), n));
      if (!w) return w.error();
      EXPECT_EQ(*w, n);
    }
    return Status::OK();
  }
  std::string Read(uint64_t ino) {
    auto a = head_->GetAttr(ino);
    EXPECT_TRUE(a);
    auto f = head_->Open(ino, O_RDONLY);
    EXPECT_TRUE(f) << f.error().message();
    std::string out(a->size, '\0');
    size_t pos = 0;
    while (pos < out.size()) {
      auto n = head_->Read(**f, pos,
                           std::span(reinterpret_cast<uint8_t*>(out.data() + pos),
                                     std::min<size_t>(100'000, out.size() - pos)));
      EXPECT_TRUE(n) << n.error().message();
      if (!n || *n == 0) break;
      pos += *n;
    }
    EXPECT_TRUE(head_->Release(std::move(*f)).ok());
    return out;
  }
  std::vector<std::string> Names(uint64_t ino) {
    std::vector<std::string> out;
    Status s = head_->ReadDir(ino, 0, [&](const FsDirEntry& e) {
      if (e.name != "." && e.name != "..") out.push_back(e.name);
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.message();
    return out;
  }
  SealReport Seal(std::vector<std::string> tags = {}) {
    SealRequest req;
    req.tags = std::move(tags);
    auto r = head_->Seal(req, nullptr);
    EXPECT_TRUE(r) << r.error().message();
    return r ? *r : SealReport{};
  }

  MemoryStore store_;
  FaultyStore faulty_{store_};  // counts the requests
  std::string root_;
  uint64_t staging_limit_ = 0;
  HeadPackerOptions packer_;  // as a mount has it unless a test says otherwise
  uint32_t pack_size_ = 0;    // 0: the repository default
  std::string series_ = "web1";
  std::string staging_name_ = "staging";
  HeadTestHost host_;
  std::unique_ptr<Repository> repo_;
  std::unique_ptr<ContentReader> reader_;
  std::unique_ptr<HeadTree> head_;
};

}  // namespace cairn
