// The backup walker over Sources other than the local file system: an
// in-memory FakeSource that counts every call (so "not visited" is
// checkable) and can report directories unchanged, as head/ will, and
// StdinSource over a pipe. Runs on MemoryStore.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "repo/backup.h"
#include "repo/crypto.h"
#include "repo/stdin_source.h"
#include "repo/tree_walk.h"
#include "tests/support/borrowed_store.h"
#include "tests/support/memory_store.h"

namespace cairn {
namespace {

// An in-memory tree of directories and files, keyed by path.
class FakeSource final : public Source {
 public:
  struct Entry {
    EntryInfo info;
    std::string data;
  };

  FakeSource() { AddDir("/"); }

  void AddDir(const std::string& path) { Add(path, NodeType::kDir, ""); }
  void AddFile(const std::string& path, const std::string& data) {
    Add(path, NodeType::kFile, data);
  }
  // New content and a later mtime and ctime, same inode.
  void Rewrite(const std::string& path, const std::string& data) {
    std::lock_guard<std::mutex> lock(mu_);
    Entry& e = entries_.at(path);
    e.data = data;
    e.info.size = data.size();
    e.info.mtime_ns += 1000000000;
    e.info.ctime_ns += 1000000000;
  }

  // Directories reported unchanged since the parent snapshot.
  std::set<std::string> unchanged;
  // Files whose reads fail; files reported changed while being read.
  std::set<std::string> unreadable, changing;
  bool skip_unreadable = true;

  // Calls that named path or anything below it.
  size_t CallsAtOrBelow(const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);
    size_t n = 0;
    for (const auto& c : calls_) n += c == path || c.starts_with(path + "/");
    return n;
  }
  size_t CallsBelow(const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);
    size_t n = 0;
    for (const auto& c : calls_) n += c.starts_with(path + "/");
    return n;
  }
  void ClearCalls() {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.clear();
    listed_.clear();
  }
  bool Listed(const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);
    return listed_.count(path) > 0;
  }

  Result<EntryInfo> Stat(const std::string& path, bool) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back(path);
    auto it = entries_.find(path);
    if (it == entries_.end()) return Err(Status::NotFound(path + ": no such entry"));
    return it->second.info;
  }
  Result<std::vector<std::string>> List(const std::string& path, const EntryInfo&) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back(path);
    listed_.insert(path);
    const std::string prefix = path == "/" ? "/" : path + "/";
    std::vector<std::string> names;
    for (const auto& [p, e] : entries_) {
      if (p.size() > prefix.size() && p.starts_with(prefix) &&
          p.find('/', prefix.size()) == std::string::npos) {
        names.push_back(p.substr(prefix.size()));
      }
    }
    return names;  // a std::map iterates in byte order
  }
  Result<std::string> ReadLink(const std::string& path, const EntryInfo&) override {
    return Err(Status::InvalidArgument(path + ": not a symlink"));
  }
  Result<std::vector<Xattr>> ReadXattrs(const std::string& path, const EntryInfo&) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back(path);
    return std::vector<Xattr>{};
  }
  Result<std::unique_ptr<SourceFile>> Open(const std::string& path, const EntryInfo&) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back(path);
    const Entry& e = entries_.at(path);
    return std::unique_ptr<SourceFile>(
        new File(e, path, unreadable.count(path) > 0, changing.count(path) > 0));
  }
  std::string UserName(uint32_t) override { return "user"; }
  std::string GroupName(uint32_t) override { return "group"; }
  std::optional<Id> UnchangedSubtree(const std::string& path, const EntryInfo&,
                                     const Node* prev) override {
    if (unchanged.count(path) && prev) return prev->subtree;
    return std::nullopt;
  }
  bool SkipUnreadable() const override { return skip_unreadable; }

 private:
  class File final : public SourceFile {
   public:
    File(const Entry& e, const std::string& path, bool fail, bool changing)
        : SourceFile(e.info, e.info.size, false),
          data_(e.data),
          path_(path),
          fail_(fail),
          changing_(changing) {}
    Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> buf) override {
      if (fail_) return Err(Status::IOError("reading " + path_ + ": bad sector"));
      if (offset >= data_.size()) return size_t{0};
      size_t n = std::min(buf.size(), data_.size() - static_cast<size_t>(offset));
      std::memcpy(buf.data(), data_.data() + offset, n);
      return n;
    }
    Result<uint64_t> SeekEnd() override { return data_.size(); }
    bool ChangedWhileRead(uint64_t) override { return changing_; }

   private:
    const std::string data_, path_;
    const bool fail_, changing_;
  };

  void Add(const std::string& path, NodeType type, const std::string& data) {
    std::lock_guard<std::mutex> lock(mu_);
    Entry e;
    e.info.type = type;
    e.info.mode = type == NodeType::kDir ? 0755 : 0644;
    e.info.size = data.size();
    e.info.mtime_ns = e.info.ctime_ns = e.info.atime_ns = 1700000000000000000;
    e.info.device = 1;
    e.info.inode = ++next_inode_;
    e.data = data;
    entries_[path] = std::move(e);
  }

  std::mutex mu_;
  std::map<std::string, Entry> entries_;  // GUARDED_BY(mu_)
  std::vector<std::string> calls_;        // GUARDED_BY(mu_): the path of each call
  std::set<std::string> listed_;          // GUARDED_BY(mu_)
  uint64_t next_inode_ = 0;               // GUARDED_BY(mu_)
};

struct Collector : BackupObserver {
  std::mutex mu;
  std::vector<std::string> skipped, warned;
  void Skipped(const std::string& path, const Status&) override {
    std::lock_guard<std::mutex> lock(mu);
    skipped.push_back(path);
  }
  void Warning(const std::string& path, const std::string&) override {
    std::lock_guard<std::mutex> lock(mu);
    warned.push_back(path);
  }
};

class BackupSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cairn-source-XXXXXX";
    root_ = mkdtemp(tmpl);
    OpenOptions o;
    o.cache_dir = root_ + "/cache";
    InitOptions i;
    i.kdf.n = 1 << 10;
    auto r = Repository::Init(std::make_unique<BorrowedStore>(store_), "pw", i, o);
    ASSERT_TRUE(r) << r.error().message();
    repo_ = std::move(*r);
  }
  void TearDown() override {
    repo_.reset();
    std::filesystem::remove_all(root_);
  }

  Result<BackupResult> Backup(Source& source, std::vector<std::string> paths,
                              BackupObserver* observer = nullptr) {
    BackupOptions o;
    o.paths = std::move(paths);
    o.hostname = "host";
    return RunBackup(*repo_, source, o, nullptr, observer, nullptr);
  }
  Id SubtreeOf(const Snapshot& snap, const std::string& path) {
    auto codec = repo_->NewCodec();
    auto node = ResolvePath(*repo_, *codec, snap, path);
    EXPECT_TRUE(node) << path << ": " << node.error().message();
    return node ? node->subtree : Id();
  }

  std::string root_;
  MemoryStore store_;
  std::unique_ptr<Repository> repo_;
};

TEST_F(BackupSourceTest, UnchangedSubtreeIsReusedWithZeroReadsOfIt) {
  FakeSource src;
  src.AddDir("/data");
  src.AddDir("/data/a");
  src.AddFile("/data/a/x", "x content");
  src.AddDir("/data/a/deep");
  src.AddFile("/data/a/deep/z", "z content");
  src.AddDir("/data/b");
  src.AddFile("/data/b/w", "w content");
  src.AddDir("/data/c");
  src.AddFile("/data/c/f", "f content");
  src.AddFile("/data/top", "top");
  auto first = Backup(src, {"/data"});
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_EQ(first->trees_written, 6u);  // /, /data, a, a/deep, b, c
  EXPECT_EQ(first->snapshot.stats.files_new, 5u);

  src.Rewrite("/data/c/f", "f content, longer");
  src.unchanged = {"/data/a", "/data/b"};
  src.ClearCalls();
  auto second = Backup(src, {"/data"});
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_EQ(second->snapshot.parent, first->snapshot.id);
  // Nothing below the unchanged directories was asked for, and their trees
  // were neither loaded for comparison nor encoded again.
  EXPECT_EQ(src.CallsBelow("/data/a"), 0u);
  EXPECT_EQ(src.CallsBelow("/data/b"), 0u);
  EXPECT_FALSE(src.Listed("/data/a"));
  EXPECT_FALSE(src.Listed("/data/b"));
  EXPECT_EQ(second->trees_written, 3u);  // /data/c and its ancestors
  EXPECT_EQ(second->snapshot.stats.files_changed, 1u);
  EXPECT_EQ(second->snapshot.stats.bytes_read, 17u);
  EXPECT_EQ(SubtreeOf(second->snapshot, "/data/a"), SubtreeOf(first->snapshot, "/data/a"));
  EXPECT_EQ(SubtreeOf(second->snapshot, "/data/b"), SubtreeOf(first->snapshot, "/data/b"));
  EXPECT_NE(SubtreeOf(second->snapshot, "/data/c"), SubtreeOf(first->snapshot, "/data/c"));

  // A full walk of the same state gives the same tree: reuse is exact.
  src.unchanged.clear();
  auto third = Backup(src, {"/data"});
  ASSERT_TRUE(third) << third.error().message();
  EXPECT_EQ(third->trees_written, 6u);
  EXPECT_EQ(third->snapshot.stats.files_unmodified, 5u);
  EXPECT_EQ(third->snapshot.stats.bytes_read, 0u);
  EXPECT_EQ(third->snapshot.tree, second->snapshot.tree);
}

TEST_F(BackupSourceTest, ChangedLeafReencodesOnlyItsAncestors) {
  FakeSource src;
  const std::vector<std::string> chain = {"/r", "/r/l1", "/r/l1/l2", "/r/l1/l2/l3"};
  std::vector<std::string> siblings;
  for (size_t i = 0; i < chain.size(); ++i) {
    src.AddDir(chain[i]);
    siblings.push_back(chain[i] + "/s" + std::to_string(i));
    src.AddDir(siblings.back());
    src.AddFile(siblings.back() + "/f", "sibling " + std::to_string(i));
  }
  src.AddFile("/r/l1/l2/l3/leaf", "leaf v1");
  auto first = Backup(src, {"/r"});
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_EQ(first->trees_written, 9u);  // "/", 4 on the chain, 4 siblings

  src.Rewrite("/r/l1/l2/l3/leaf", "leaf v2");
  src.unchanged.insert(siblings.begin(), siblings.end());
  src.ClearCalls();
  auto second = Backup(src, {"/r"});
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_EQ(second->trees_written, chain.size() + 1);  // the chain and "/"
  for (const auto& s : siblings) {
    EXPECT_EQ(src.CallsBelow(s), 0u) << s;
    EXPECT_EQ(SubtreeOf(second->snapshot, s), SubtreeOf(first->snapshot, s)) << s;
  }
  for (const auto& c : chain) {
    EXPECT_NE(SubtreeOf(second->snapshot, c), SubtreeOf(first->snapshot, c)) << c;
  }
  EXPECT_EQ(second->snapshot.stats.files_changed, 1u);
}

TEST_F(BackupSourceTest, UnreadableFileIsSkippedOrFailsAsTheSourceSays) {
  FakeSource src;
  src.AddDir("/d");
  src.AddFile("/d/bad", "unreadable");
  src.AddFile("/d/good", "fine");
  src.unreadable = {"/d/bad"};
  Collector seen;
  auto skipped = Backup(src, {"/d"}, &seen);
  ASSERT_TRUE(skipped) << skipped.error().message();
  EXPECT_EQ(skipped->skipped, 1u);
  EXPECT_EQ(seen.skipped, std::vector<std::string>{"/d/bad"});
  EXPECT_EQ(skipped->snapshot.stats.files, 1u);

  src.skip_unreadable = false;
  const size_t snapshots = store_.Keys("snapshots/").size();
  auto failed = Backup(src, {"/d"});
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code(), ErrorCode::kIOError);
  EXPECT_NE(failed.error().message().find("bad sector"), std::string::npos);
  EXPECT_EQ(store_.Keys("snapshots/").size(), snapshots);
}

TEST_F(BackupSourceTest, FileChangedWhileReadIsWarnedAndKept) {
  FakeSource src;
  src.AddDir("/d");
  src.AddFile("/d/log", "growing");
  src.changing = {"/d/log"};
  Collector seen;
  auto r = Backup(src, {"/d"}, &seen);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->skipped, 0u);
  EXPECT_EQ(seen.warned, std::vector<std::string>{"/d/log"});
  EXPECT_EQ(r->snapshot.stats.files, 1u);
}

// Writes data into a pipe from another thread; returns the read end.
int PipeWith(const std::string& data, std::thread& writer) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  writer = std::thread([fd = fds[1], data] {
    EXPECT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    ::close(fd);
  });
  return fds[0];
}

TEST_F(BackupSourceTest, StdinIsOneNewFileEveryTime) {
  const std::string data = "from stdin\n";
  Id first_id;
  for (int run = 0; run < 2; ++run) {
    std::thread writer;
    int fd = PipeWith(data, writer);
    auto src = StdinSource::Make("piped.txt", fd);
    ASSERT_TRUE(src);
    EXPECT_EQ((*src)->path(), "/piped.txt");
    auto r = Backup(**src, {(*src)->path()});
    writer.join();
    ::close(fd);
    ASSERT_TRUE(r) << r.error().message();
    const SnapshotStats& st = r->snapshot.stats;
    // The parent is recorded but not compared: the file is always new.
    EXPECT_EQ(st.files_new, 1u);
    EXPECT_EQ(st.files_changed, 0u);
    EXPECT_EQ(st.bytes_read, data.size());
    EXPECT_EQ(st.dirs, 0u);
    EXPECT_EQ(r->snapshot.paths, std::vector<std::string>{"/piped.txt"});
    if (run == 1) {
      EXPECT_EQ(r->snapshot.parent, first_id);
    }
    first_id = r->snapshot.id;
    auto codec = repo_->NewCodec();
    auto node = ResolvePath(*repo_, *codec, r->snapshot, "/piped.txt");
    ASSERT_TRUE(node) << node.error().message();
    EXPECT_EQ(node->type, NodeType::kFile);
    EXPECT_EQ(node->mode, 0644u);
    EXPECT_EQ(node->uid, geteuid());
    EXPECT_EQ(node->size, data.size());
    EXPECT_EQ(node->sha256, Sha256(AsBytes(data)));
  }
}

TEST_F(BackupSourceTest, UnreadableStdinFailsWithoutSnapshot) {
  auto src = StdinSource::Make("in", -1);  // EBADF on every read
  ASSERT_TRUE(src);
  auto r = Backup(**src, {(*src)->path()});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("reading standard input"), std::string::npos)
      << r.error().message();
  EXPECT_TRUE(store_.Keys("snapshots/").empty());
}

TEST(StdinSourceTest, NameMustBeAPlainFileName) {
  for (const char* bad : {"", "a/b", "/x"}) {
    auto src = StdinSource::Make(bad, 0);
    ASSERT_FALSE(src) << bad;
    EXPECT_EQ(src.error().code(), ErrorCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace cairn
