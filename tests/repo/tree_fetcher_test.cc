// TreeFetcher on MemoryStore / FaultyStore: a walk of a snapshot's trees
// costs a GET per window instead of one per tree and yields the same nodes;
// windows are shared and bounded; a corrupted or missing tree pack fails
// with the blob and pack named, as Repository::LoadBlob does.
#include "repo/tree_fetcher.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "repo/backup.h"
#include "repo/pack.h"
#include "tests/support/borrowed_store.h"
#include "tests/support/faulty_store.h"
#include "tests/support/memory_store.h"

namespace cairn {
namespace {

class TreeFetcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cairn-treefetch-XXXXXX";
    root_ = mkdtemp(tmpl);
    const std::string src = root_ + "/src";
    // 40 directories of 8 subdirectories with a file each: 361 trees.
    for (int i = 0; i < 40; ++i) {
      for (int j = 0; j < 8; ++j) {
        const std::string d = src + "/d" + std::to_string(i) + "/s" + std::to_string(j);
        std::filesystem::create_directories(d);
        std::ofstream(d + "/f") << i << "/" << j;
      }
    }
    InitOptions init;
    init.kdf.n = 1 << 10;
    OpenOptions open;
    open.cache_dir = root_ + "/cache";
    auto repo = Repository::Init(std::make_unique<BorrowedStore>(faulty_), "pw", init, open);
    ASSERT_TRUE(repo) << repo.error().message();
    repo_ = std::move(*repo);
    BackupOptions bo;
    bo.paths = {src};
    auto r = RunBackup(*repo_, bo, nullptr, nullptr, nullptr);
    ASSERT_TRUE(r) << r.error().message();
    snap_ = r->snapshot;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  // Every node's name and subtree, depth first, loaded with load.
  Result<std::vector<std::string>> Walk(const TreeLoadFn& load) {
    std::vector<std::string> out;
    std::function<Status(const Id&, const std::string&)> walk = [&](const Id& t,
                                                                   const std::string& at) {
      return ForEachNode(t, load, [&](Node&& n) -> Status {
        out.push_back(at + "/" + n.name);
        if (n.type == NodeType::kDir) return walk(n.subtree, at + "/" + n.name);
        return Status::OK();
      });
    };
    CAIRN_RETURN_IF_ERROR(walk(snap_.tree, ""));
    return out;
  }
  size_t TreeBlobs() {
    size_t n = 0;
    Status s = repo_->cache().ForEachBlob([&](const Id&, const BlobLocation& l) {
      n += l.type == static_cast<uint8_t>(BlobType::kTree);
    });
    EXPECT_TRUE(s.ok());
    return n;
  }
  std::optional<BlobLocation> TreeLocation() {
    std::optional<BlobLocation> loc;
    Status s = repo_->cache().ForEachBlob([&](const Id&, const BlobLocation& l) {
      if (!loc && l.type == static_cast<uint8_t>(BlobType::kTree)) loc = l;
    });
    EXPECT_TRUE(s.ok());
    return loc;
  }

  std::string root_;
  MemoryStore mem_;
  FaultyStore faulty_{mem_};
  std::unique_ptr<Repository> repo_;
  Snapshot snap_;
};

TEST_F(TreeFetcherTest, AWalkCostsAGetPerWindowAndSeesTheSameNodes) {
  auto codec = repo_->NewCodec();
  const uint64_t before = faulty_.Calls(StoreOp::kGet);
  auto direct = Walk(repo_->TreeLoader(*codec));
  ASSERT_TRUE(direct) << direct.error().message();
  const uint64_t direct_gets = faulty_.Calls(StoreOp::kGet) - before;
  const size_t trees = TreeBlobs();
  EXPECT_GE(trees, 361u);
  EXPECT_GE(direct_gets, trees);  // one per tree blob (the snapshot's tree included)

  TreeFetcher fetcher(*repo_, 1 << 20, 32 << 20);
  const uint64_t start = faulty_.Calls(StoreOp::kGet);
  auto windowed = Walk(fetcher.Loader(*codec));
  ASSERT_TRUE(windowed) << windowed.error().message();
  EXPECT_EQ(*windowed, *direct);
  EXPECT_GE(direct->size(), 40u + 40 * 8 + 40 * 8);  // d*, s*, f below the source's path
  const uint64_t gets = faulty_.Calls(StoreOp::kGet) - start;
  EXPECT_LE(gets, 2u);  // the trees fit one pack window (or two)
  EXPECT_EQ(fetcher.stats().gets, gets);
  EXPECT_EQ(fetcher.stats().hits + gets, trees);  // every tree loaded once
}

TEST_F(TreeFetcherTest, SmallWindowsAreBoundedAndSharedByThreads) {
  TreeFetcher fetcher(*repo_, 4096, 3 * 4096);
  std::vector<std::thread> threads;
  std::vector<Result<std::vector<std::string>>> got(4, std::vector<std::string>{});
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto codec = repo_->NewCodec();
      got[t] = Walk(fetcher.Loader(*codec));
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& g : got) {
    ASSERT_TRUE(g) << g.error().message();
    EXPECT_EQ(*g, *got[0]);
  }
  // Four walks of every tree: at least one GET per 4 KiB of tree pack, and
  // with only 3 windows kept, windows are fetched again.
  const auto st = fetcher.stats();
  EXPECT_GT(st.gets, 1u);
  EXPECT_EQ(st.gets + st.hits, 4 * TreeBlobs());
  EXPECT_LE(st.get_bytes, st.gets * (4096 + 65536));
}

TEST_F(TreeFetcherTest, DamagedTreePackFailsNamingBlobAndPack) {
  auto loc = TreeLocation();
  ASSERT_TRUE(loc);
  auto codec = repo_->NewCodec();
  {
    TreeFetcher fetcher(*repo_, 1 << 20, 32 << 20);
    faulty_.CorruptGets("packs/", loc->offset + 20);
    auto w = Walk(fetcher.Loader(*codec));
    ASSERT_FALSE(w);
    EXPECT_TRUE(w.error().Is(ErrorCode::kCorruption)) << w.error().message();
    faulty_.ClearFaults();
  }
  {
    TreeFetcher fetcher(*repo_, 1 << 20, 32 << 20);
    faulty_.TruncateGets("packs/", loc->offset + 3);
    auto w = Walk(fetcher.Loader(*codec));
    ASSERT_FALSE(w);
    EXPECT_NE(w.error().message().find("truncated"), std::string::npos) << w.error().message();
    EXPECT_NE(w.error().message().find(loc->pack.Short()), std::string::npos);
    faulty_.ClearFaults();
  }
  {
    TreeFetcher fetcher(*repo_, 1 << 20, 32 << 20);
    ASSERT_TRUE(mem_.Delete(PackKey(loc->pack)).ok());
    auto w = Walk(fetcher.Loader(*codec));
    ASSERT_FALSE(w);
    EXPECT_TRUE(w.error().Is(ErrorCode::kNotFound)) << w.error().message();
    EXPECT_NE(w.error().message().find("missing from the store"), std::string::npos);
  }
}

}  // namespace
}  // namespace cairn
