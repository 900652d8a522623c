// The engines on a faulty local disk (tests/support/faulty_local_files.h):
// restore onto a disk that fills or fails, and the mount's read path over a
// blob cache whose disk fails (reads still come right from the store).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <span>

#include "cache/blob_cache.h"
#include "repo/backup.h"
#include "repo/content_reader.h"
#include "repo/restore.h"
#include "repo/tree_walk.h"
#include "tests/support/borrowed_store.h"
#include "tests/support/faulty_local_files.h"
#include "tests/support/memory_store.h"
#include "tests/support/tree_compare.h"
#include "tests/support/test_data.h"

namespace cairn {
namespace {

class Failures final : public RestoreObserver {
 public:
  void Failed(const std::string& path, const Status& why) override {
    std::lock_guard<std::mutex> lock(mu_);
    items.emplace_back(path, why);
  }
  std::mutex mu_;
  std::vector<std::pair<std::string, Status>> items;
};

class LocalDiskFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cairn-diskfaults-XXXXXX";
    root_ = mkdtemp(tmpl);
    src_ = root_ + "/src";
    std::filesystem::create_directories(src_ + "/sub");
    big_ = test::RandomString(2 << 20, 1);
    Write("big", big_);
    for (int i = 0; i < 20; ++i) Write("sub/small" + std::to_string(i), test::RandomString(3000, 10 + i));
    InitOptions init;
    init.kdf.n = 1 << 10;
    init.chunker = {1024, 4096, 16384};  // hundreds of blobs
    OpenOptions open;
    open.cache_dir = root_ + "/cache";
    auto repo = Repository::Init(std::make_unique<BorrowedStore>(mem_), "pw", init, open);
    ASSERT_TRUE(repo) << repo.error().message();
    repo_ = std::move(*repo);
    BackupOptions bo;
    bo.paths = {src_};
    auto r = RunBackup(*repo_, bo, nullptr, nullptr, nullptr);
    ASSERT_TRUE(r) << r.error().message();
    snap_ = r->snapshot;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void Write(const std::string& rel, const std::string& data) {
    std::ofstream(src_ + "/" + rel, std::ios::binary) << data;
  }
  Result<RestoreStats> Restore(const std::string& target, RestoreObserver* observer) {
    RestoreOptions ro;
    ro.target = target;
    ro.threads = 2;
    ro.files = &disk_;
    return RunRestore(*repo_, snap_, ro, nullptr, observer, nullptr);
  }

  std::string root_, src_, big_;
  MemoryStore mem_;
  std::unique_ptr<Repository> repo_;
  Snapshot snap_;
  FaultyLocalFiles disk_;
};

TEST_F(LocalDiskFaultsTest, RestoreThroughTheSeamIsExact) {
  disk_.ShortWrites(5000);  // the loop joins short writes
  auto st = Restore(root_ + "/r", nullptr);
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(st->failed, 0u);
  EXPECT_EQ(testing::CompareTrees(src_, root_ + "/r" + src_), std::vector<std::string>{});
  EXPECT_GE(disk_.Calls(FileOp::kOpen), 21u);  // every file went through the seam
}

TEST_F(LocalDiskFaultsTest, RestoreOntoAFullDiskStopsWithNoSpaceNamingTheFile) {
  disk_.NoSpaceAfter(1 << 20);  // half of "big" fits
  Failures failures;
  auto st = Restore(root_ + "/r", &failures);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kNoSpace) << st.error().message();
  EXPECT_NE(st.error().message().find("restore target " + root_ + "/r is full"),
            std::string::npos)
      << st.error().message();
  EXPECT_NE(st.error().message().find("(writing " + root_ + "/r" + src_ + "/"), std::string::npos)
      << st.error().message();
  // The file that did not fit is not left behind half written.
  EXPECT_FALSE(std::filesystem::exists(root_ + "/r" + src_ + "/big") &&
               std::filesystem::file_size(root_ + "/r" + src_ + "/big") != big_.size());
}

TEST_F(LocalDiskFaultsTest, RestoreWriteErrorFailsOneFileAndGoesOn) {
  disk_.FailNth(FileOp::kWrite, 1, EIO);
  Failures failures;
  auto st = Restore(root_ + "/r", &failures);
  ASSERT_TRUE(st) << st.error().message();  // not fatal, unlike a full disk
  EXPECT_EQ(st->failed, 1u);
  ASSERT_EQ(failures.items.size(), 1u);
  const auto& [path, why] = failures.items[0];
  EXPECT_EQ(why.code(), ErrorCode::kIOError) << why.message();
  EXPECT_NE(why.message().find("writing " + path), std::string::npos) << why.message();
  EXPECT_FALSE(st->corruption);
  EXPECT_FALSE(std::filesystem::exists(path)) << "no partial file is left";
  EXPECT_EQ(st->files, 20u);  // the other 20 of 21 files
}

TEST_F(LocalDiskFaultsTest, MountReadsComeFromTheStoreWhenTheCacheDiskFails) {
  auto codec = repo_->NewCodec();
  auto node = ResolvePath(*repo_, *codec, snap_, src_ + "/big");
  ASSERT_TRUE(node) << node.error().message();
  auto cache = BlobCache::Open(root_ + "/blobs", 64 << 20, nullptr, &disk_);
  ASSERT_TRUE(cache) << cache.error().message();
  auto read_all = [&](ContentReader& reader) {
    auto f = reader.Open(*node, "/src/big");
    std::string all(big_.size(), '\0');
    auto n = reader.Read(*f, 0, std::span<uint8_t>(reinterpret_cast<uint8_t*>(all.data()),
                                                   all.size()));
    if (!n) return "ERR: " + n.error().message();
    all.resize(*n);
    return all;
  };
  // The disk fills a third of the way through the fill, then an EIO.
  disk_.NoSpaceAfter(big_.size() / 3);
  {
    ContentReader reader(*repo_, cache->get(), {});
    EXPECT_TRUE(read_all(reader) == big_);
  }
  const size_t cached = (*cache)->count();
  EXPECT_GT(cached, 0u);
  size_t extents = 0;
  for (const Extent& x : node->content) extents += !x.hole;
  EXPECT_LT(cached, extents) << "the full disk stopped part of the fill";
  // Warm reads: hits are exact, misses go to the store; a read error on the
  // cache disk is a miss too.
  disk_.ClearFaults();
  disk_.FailNth(FileOp::kRead, 3, EIO);
  {
    ContentReader reader(*repo_, cache->get(), {});
    EXPECT_TRUE(read_all(reader) == big_);
  }
  EXPECT_GE(disk_.InjectedFailures(), 2u) << "ENOSPC and EIO were both injected";
}

}  // namespace
}  // namespace cairn
