// Background packing of head/ (fs/head_packer.h, fs/head_packing.cc): the
// snapshot equals what seal-time chunking makes, byte for byte; a write
// after packing invalidates the result; a seal after packing stores no
// data again; a kill while packing, then a restart and a seal, is exact;
// the age bound packs a file that is never idle; the status counts it all.
#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "repo/restore.h"
#include "tests/fs/head_tree_fixture.h"

namespace cairn {
namespace {

using namespace std::chrono_literals;

class HeadPackingTest : public HeadTreeTest {
 protected:
  HeadPackingTest() {
    packer_.idle_ns = 0;  // packed as soon as the worker looks
  }

  // Waits until no file waits for the packer (or fails after 60 s).
  void WaitPacked() {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (head_->GetStatus().files_pending > 0) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "background packing never ended";
      std::this_thread::sleep_for(10ms);
    }
  }

  // The stored file at path of snapshot id (its tree node).
  Node StoredNode(const Id& snap_id, const std::string& path) {
    auto snap = repo_->FindSnapshot(snap_id.Hex());
    EXPECT_TRUE(snap) << snap.error().message();
    auto codec = repo_->NewCodec();
    Id tree = snap->tree;
    Node found;
    std::stringstream parts(path.substr(1));
    std::string part;
    while (std::getline(parts, part, '/')) {
      auto nodes = ReadTree(tree, repo_->TreeLoader(*codec));
      EXPECT_TRUE(nodes) << nodes.error().message();
      if (!nodes) return {};
      bool hit = false;
      for (const auto& n : *nodes) {
        if (n.name == part) {
          found = n;
          tree = n.subtree;
          hit = true;
        }
      }
      EXPECT_TRUE(hit) << path << " is not in snapshot " << snap_id.Short();
      if (!hit) return {};
    }
    return found;
  }

  // Restores snapshot id and checks that every file of want has exactly
  // its bytes.
  void ExpectRestored(const Id& snap_id, const std::map<std::string, std::string>& want) {
    auto snap = repo_->FindSnapshot(snap_id.Hex());
    ASSERT_TRUE(snap) << snap.error().message();
    RestoreOptions ro;
    ro.target = root_ + "/restored-" + snap_id.Short();
    auto r = RunRestore(*repo_, *snap, ro, nullptr, nullptr, nullptr);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->failed, 0u);
    for (const auto& [path, bytes] : want) {
      std::ifstream in(ro.target + path, std::ios::binary);
      std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      EXPECT_TRUE(got == bytes) << path << " restored differs (" << got.size() << " bytes, want "
                                << bytes.size() << ")";
    }
  }

  // What both runs of SameSnapshotAsSealTimeChunking do: new files of
  // every size class (empty, small, several chunks, a chunk big enough for
  // the encoder pool), a seal, then --inplace writes into a stored file, a
  // truncate and an rsync-style write-then-rename.
  std::map<std::string, std::string> Scenario(bool background) {
    std::map<std::string, std::string> want;
    EXPECT_TRUE(head_->MkDir(HeadTree::kRootIno, "d", 0755, kUser));
    want["/empty"] = "";
    want["/small"] = "hello\n";
    want["/d/mid"] = test::RandomString(300'000, 1);
    want["/d/big"] = test::RandomString(5'000'000, 2);
    want["/d/same"] = test::RandomString(300'000, 1);  // dedups against /d/mid
    for (const auto& [path, bytes] : want) EXPECT_TRUE(WriteFile(path, bytes).ok()) << path;
    if (background) WaitPacked();
    Seal();
    // A partial overwrite keeps the stored bytes around it.
    const uint64_t big = Ino("/d/big");
    EXPECT_TRUE(WriteAt(big, nullptr, 2'000'000, "inplace").ok());
    want["/d/big"].replace(2'000'000, 7, "inplace");
    FsSetAttr t;
    t.size = 100'000;
    EXPECT_TRUE(head_->SetAttr(Ino("/d/mid"), t, nullptr));
    want["/d/mid"].resize(100'000);
    EXPECT_TRUE(WriteFile("/d/.new.Xq2Tz1", test::RandomString(700'000, 3)).ok());
    EXPECT_TRUE(head_->Rename(Ino("/d"), ".new.Xq2Tz1", Ino("/d"), "new", 0).ok());
    want["/d/new"] = test::RandomString(700'000, 3);
    if (background) WaitPacked();
    return want;
  }
};

TEST_F(HeadPackingTest, SameSnapshotAsSealTimeChunking) {
  // First without the packer: the seal chunks everything.
  packer_.enabled = false;
  Reopen();
  const std::map<std::string, std::string> want = Scenario(false);
  const SealReport plain = Seal();
  EXPECT_GT(plain.bytes_read, 0u);
  // Then a second series with the packer: the same operations.
  packer_.enabled = true;
  series_ = "web2";
  staging_name_ = "staging2";
  Reopen();
  EXPECT_EQ(Scenario(true), want);
  const HeadStatus before = head_->GetStatus();
  EXPECT_EQ(before.files_pending, 0u);
  EXPECT_EQ(before.files_packed, 3u);  // big, mid, new
  EXPECT_GT(before.bytes_packed, 0u);
  const SealReport packed = Seal();
  EXPECT_EQ(packed.bytes_read, 0u) << "the seal chunked what was packed already";
  EXPECT_EQ(packed.files_changed, plain.files_changed);
  EXPECT_EQ(packed.files_new, plain.files_new);
  EXPECT_EQ(packed.files_unmodified, plain.files_unmodified);
  EXPECT_EQ(packed.bytes, plain.bytes);
  for (const auto& [path, bytes] : want) {
    const Node a = StoredNode(plain.snapshot, path);
    const Node b = StoredNode(packed.snapshot, path);
    EXPECT_EQ(a.content, b.content) << path;
    EXPECT_EQ(a.sha256, b.sha256) << path;
    EXPECT_EQ(a.size, bytes.size()) << path;
    EXPECT_EQ(b.size, bytes.size()) << path;
  }
  ExpectRestored(packed.snapshot, want);
  ExpectRestored(plain.snapshot, want);
  // The status starts again from the new snapshot.
  const HeadStatus after = head_->GetStatus();
  EXPECT_EQ(after.files_packed, 0u);
  EXPECT_EQ(after.bytes_packed, 0u);
  EXPECT_EQ(after.bytes_uploaded, 0u);
}

TEST_F(HeadPackingTest, WriteAfterPackingInvalidatesTheResult) {
  packer_.idle_ns = 3600 * int64_t{1'000'000'000};  // only Drain packs
  packer_.max_age_ns = packer_.idle_ns;
  Reopen();
  std::string data = test::RandomString(400'000, 4);
  ASSERT_TRUE(WriteFile("/f", data).ok());
  EXPECT_EQ(head_->GetStatus().files_pending, 1u);
  ASSERT_TRUE(head_->StoreStaged(nullptr).ok());
  HeadStatus st = head_->GetStatus();
  EXPECT_EQ(st.files_pending, 0u);
  EXPECT_EQ(st.files_packed, 1u);
  EXPECT_GT(st.bytes_uploaded, 0u);
  // Written again after it was packed: the result is of bytes the file no
  // longer has, and the packer waits an hour before packing it again.
  ASSERT_TRUE(WriteAt(Ino("/f"), nullptr, 1000, "XYZ").ok());
  data.replace(1000, 3, "XYZ");
  st = head_->GetStatus();
  EXPECT_EQ(st.files_pending, 1u);
  EXPECT_EQ(st.files_packed, 0u);
  const SealReport r = Seal();
  EXPECT_EQ(r.bytes_read, data.size()) << "the seal must chunk the file again";
  EXPECT_EQ(StoredNode(r.snapshot, "/f").size, data.size());
  ExpectRestored(r.snapshot, {{"/f", data}});
  // A truncate after packing invalidates too.
  ASSERT_TRUE(WriteFile("/g", test::RandomString(200'000, 5)).ok());
  ASSERT_TRUE(head_->StoreStaged(nullptr).ok());
  FsSetAttr t;
  t.size = 150'000;
  ASSERT_TRUE(head_->SetAttr(Ino("/g"), t, nullptr));
  const SealReport r2 = Seal();
  EXPECT_EQ(r2.bytes_read, 150'000u);
  ExpectRestored(r2.snapshot, {{"/f", data}, {"/g", test::RandomString(200'000, 5).substr(0, 150'000)}});
}

TEST_F(HeadPackingTest, SealAfterPackingStoresNoDataAgain) {
  std::map<std::string, std::string> want;
  for (int i = 0; i < 20; ++i) want["/f" + std::to_string(i)] = test::RandomString(100'000, 10 + i);
  want["/big"] = test::RandomString(6'000'000, 9);
  uint64_t total = 0;
  for (const auto& [path, bytes] : want) {
    ASSERT_TRUE(WriteFile(path, bytes).ok());
    total += bytes.size();
  }
  // What `cairn umount` waits for: everything packed and stored.
  ASSERT_TRUE(head_->StoreStaged(nullptr).ok());
  const HeadStatus st = head_->GetStatus();
  EXPECT_EQ(st.files_pending, 0u);
  EXPECT_EQ(st.files_packed, want.size());
  EXPECT_EQ(st.bytes_packed, total);
  EXPECT_GE(st.bytes_uploaded, total);  // random bytes do not compress
  const uint64_t puts = faulty_.Calls(StoreOp::kPut);
  const uint64_t written = faulty_.BytesWritten();
  const SealReport r = Seal();
  // The seal stores one tree pack, one index segment and the snapshot.
  EXPECT_LE(faulty_.Calls(StoreOp::kPut) - puts, 3u);
  EXPECT_LT(faulty_.BytesWritten() - written, 64u << 10);
  EXPECT_EQ(r.bytes_read, 0u);
  EXPECT_EQ(r.files_new, want.size());
  EXPECT_EQ(r.files_unmodified, 0u);
  // The snapshot's stats count what the packer stored for it.
  EXPECT_GE(r.stored_bytes_added, st.bytes_uploaded);
  ExpectRestored(r.snapshot, want);
}

class HeadPackingSmallPacksTest : public HeadPackingTest {
 protected:
  HeadPackingSmallPacksTest() { pack_size_ = 1 << 20; }  // many packs while packing goes on
};

TEST_F(HeadPackingSmallPacksTest, KillWhilePackingThenRestartAndSealIsExact) {
  std::map<std::string, std::string> want;
  uint64_t total = 0;
  for (int i = 0; i < 60; ++i) {
    const std::string path = "/f" + std::to_string(i);
    want[path] = test::RandomString(100'000 + 1000 * i, 100 + i);
    total += want[path].size();
    ASSERT_TRUE(WriteFile(path, want[path]).ok());
  }
  // Some packs are uploaded (and in the pack journal, not yet indexed)...
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (head_->GetStatus().bytes_uploaded < 2u << 20) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    std::this_thread::sleep_for(1ms);
  }
  // ... when the daemon dies: the packer stops as a kill would stop it
  // (no partial pack stored, no index segment written).
  Reopen();
  const SealReport r = Seal();
  ExpectRestored(r.snapshot, want);
  EXPECT_EQ(r.files_new, want.size());
  // The packs stored before the kill were indexed from the pack journal,
  // not stored again: random data is stored about once in all.
  EXPECT_LT(faulty_.BytesWritten(), total + total / 8);
  // And head/ goes on from the snapshot.
  Reopen();
  for (const auto& [path, bytes] : want) EXPECT_TRUE(Read(Ino(path)) == bytes) << path;
}

TEST_F(HeadPackingTest, AgeBoundPacksAFileThatIsNeverIdle) {
  packer_.idle_ns = 3600 * int64_t{1'000'000'000};
  packer_.max_age_ns = 100'000'000;  // 0.1 s
  Reopen();
  ASSERT_TRUE(WriteFile("/log", "start\n").ok());
  const uint64_t ino = Ino("/log");
  std::string data = "start\n";
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  // Appends every 20 ms: never idle for an hour, packed anyway.
  while (head_->GetStatus().bytes_packed == 0) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the age bound never packed /log";
    const std::string line = "line " + std::to_string(data.size()) + "\n";
    ASSERT_TRUE(WriteAt(ino, nullptr, data.size(), line).ok());
    data += line;
    std::this_thread::sleep_for(20ms);
  }
  const SealReport r = Seal();
  ExpectRestored(r.snapshot, {{"/log", data}});
}

TEST_F(HeadPackingTest, StatusCountsPendingAndPackedFiles) {
  packer_.idle_ns = 3600 * int64_t{1'000'000'000};
  packer_.max_age_ns = packer_.idle_ns;
  Reopen();
  ASSERT_TRUE(WriteFile("/a", test::RandomString(1000, 1)).ok());
  ASSERT_TRUE(WriteFile("/b", test::RandomString(2000, 2)).ok());
  ASSERT_TRUE(WriteFile("/empty", "").ok());  // nothing to pack
  HeadStatus st = head_->GetStatus();
  EXPECT_EQ(st.files_pending, 2u);
  EXPECT_EQ(st.files_packed, 0u);
  EXPECT_GT(st.oldest_change_ns, 0);
  ASSERT_TRUE(head_->StoreStaged(nullptr).ok());
  st = head_->GetStatus();
  EXPECT_EQ(st.files_pending, 0u);
  EXPECT_EQ(st.files_packed, 2u);
  EXPECT_EQ(st.bytes_packed, 3000u);
  EXPECT_GT(st.bytes_uploaded, 0u);
  EXPECT_TRUE(st.pack_error.empty()) << st.pack_error;
  // Results live in memory: after a restart the files are packed again
  // (recovered files count as idle, so the worker may already have taken
  // them: pending + packed, not pending alone), and their blobs are found
  // stored.
  Reopen();
  st = head_->GetStatus();
  EXPECT_EQ(st.files_pending + st.files_packed, 2u);
  const uint64_t written = faulty_.BytesWritten();
  ASSERT_TRUE(head_->StoreStaged(nullptr).ok());
  EXPECT_EQ(faulty_.BytesWritten(), written) << "packed again, but nothing new to store";
  EXPECT_EQ(head_->GetStatus().files_packed, 2u);
}

TEST_F(HeadPackingTest, UploadFailureIsReportedAndTheSealStillStoresEverything) {
  packer_.idle_ns = 3600 * int64_t{1'000'000'000};
  packer_.max_age_ns = packer_.idle_ns;
  Reopen();
  ASSERT_TRUE(WriteFile("/a", test::RandomString(50'000, 7)).ok());
  faulty_.FailEvery(StoreOp::kPut, 1);
  EXPECT_FALSE(head_->StoreStaged(nullptr).ok());
  EXPECT_FALSE(head_->GetStatus().pack_error.empty());
  faulty_.ClearFaults();
  const SealReport r = Seal();
  EXPECT_EQ(r.bytes_read, 50'000u) << "the packed result names blobs never stored";
  ExpectRestored(r.snapshot, {{"/a", test::RandomString(50'000, 7)}});
}

}  // namespace
}  // namespace cairn
