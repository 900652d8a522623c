// HeadStaging against its contract: sparse writes and reads, truncate,
// remove, list, range hashes, the bound on open descriptors, concurrent
// writers, a full disk and a power cut (tests/support/faulty_local_files.h).
#include "fs/head_staging.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

#include "repo/crypto.h"
#include "tests/support/faulty_local_files.h"

namespace cairn {
namespace {

class HeadStagingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cairn-head-staging-XXXXXX";
    root_ = mkdtemp(tmpl);
    dir_ = root_ + "/staging";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::unique_ptr<HeadStaging> OpenOrDie(LocalFiles& files, size_t max_open = 64) {
    auto s = HeadStaging::Open(dir_, files, max_open);
    EXPECT_TRUE(s) << s.error().message();
    return s ? std::move(*s) : nullptr;
  }
  static Bytes Pattern(size_t n, uint32_t seed) {
    Bytes b(n);
    std::mt19937 rng(seed);
    for (auto& c : b) c = static_cast<uint8_t>(rng());
    return b;
  }
  static ByteView B(std::string_view s) { return AsBytes(s); }
  static std::string ReadStr(HeadStaging& s, uint64_t ino, uint64_t off, size_t n) {
    std::string out(n, '?');
    Status st = s.Read(ino, off, {reinterpret_cast<uint8_t*>(out.data()), n});
    EXPECT_TRUE(st.ok()) << st.message();
    return out;
  }
  static size_t OpenFds() {
    size_t n = 0;
    for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
    return n;
  }

  std::string root_, dir_;
  LocalFiles& posix_ = LocalFiles::Posix();
};

TEST_F(HeadStagingTest, SparseWritesReadBackWithZeroHoles) {
  auto s = OpenOrDie(posix_);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->dir(), dir_);
  EXPECT_TRUE(std::filesystem::is_directory(dir_ + "/data"));
  EXPECT_EQ(s->PathOf(0xabc), dir_ + "/data/0000000000000abc");
  ASSERT_TRUE(s->Write(7, 0, B("head")).ok());
  ASSERT_TRUE(s->Write(7, 1 << 20, B("tail")).ok());
  ASSERT_TRUE(s->Write(7, 2, B("LD")).ok());  // overwrite in place
  EXPECT_EQ(std::filesystem::file_size(s->PathOf(7)), (1u << 20) + 4);
  EXPECT_EQ(ReadStr(*s, 7, 0, 6), std::string("heLD\0\0", 6));
  EXPECT_EQ(ReadStr(*s, 7, (1 << 20) - 2, 6), std::string("\0\0tail", 6));
  // Past the end: zeros, whatever the buffer held.
  EXPECT_EQ(ReadStr(*s, 7, (1 << 20) + 2, 5), std::string("il\0\0\0", 5));
  EXPECT_EQ(ReadStr(*s, 7, 5u << 20, 3), std::string(3, '\0'));

  // Reads of an inode with no staging file: the data is lost, say so.
  uint8_t buf[4];
  Status st = s->Read(8, 0, buf);
  EXPECT_EQ(st.code(), ErrorCode::kNotFound);
  EXPECT_NE(st.message().find(s->PathOf(8)), std::string::npos) << st.message();
  EXPECT_TRUE(s->Read(8, 0, std::span<uint8_t>()).ok());  // nothing to read
  EXPECT_FALSE(std::filesystem::exists(s->PathOf(8)));    // reads never create
}

TEST_F(HeadStagingTest, TruncateDownAndUp) {
  auto s = OpenOrDie(posix_);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->Write(3, 0, B("0123456789abcdef")).ok());
  ASSERT_TRUE(s->Truncate(3, 4).ok());
  EXPECT_EQ(std::filesystem::file_size(s->PathOf(3)), 4u);
  EXPECT_EQ(ReadStr(*s, 3, 0, 8), std::string("0123\0\0\0\0", 8));
  ASSERT_TRUE(s->Truncate(3, 10).ok());  // up: the cut bytes come back as zeros
  EXPECT_EQ(std::filesystem::file_size(s->PathOf(3)), 10u);
  EXPECT_EQ(ReadStr(*s, 3, 0, 10), std::string("0123\0\0\0\0\0\0", 10));
  ASSERT_TRUE(s->Write(3, 10, B("X")).ok());
  EXPECT_EQ(ReadStr(*s, 3, 9, 2), std::string("\0X", 2));
  // No staging file: nothing staged, nothing to cut, nothing created.
  EXPECT_TRUE(s->Truncate(4, 100).ok());
  EXPECT_FALSE(std::filesystem::exists(s->PathOf(4)));
}

TEST_F(HeadStagingTest, RemoveDropsTheFileAndItsHandle) {
  auto s = OpenOrDie(posix_);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->Write(5, 0, B("old contents")).ok());
  ASSERT_TRUE(s->Remove(5).ok());
  EXPECT_FALSE(std::filesystem::exists(s->PathOf(5)));
  uint8_t buf[1];
  EXPECT_EQ(s->Read(5, 0, buf).code(), ErrorCode::kNotFound);
  EXPECT_TRUE(s->Remove(5).ok());   // none: fine
  EXPECT_TRUE(s->Remove(99).ok());  // never existed
  // A new file under the same number, not the cached handle of the old one.
  ASSERT_TRUE(s->Write(5, 4, B("new")).ok());
  EXPECT_EQ(std::filesystem::file_size(s->PathOf(5)), 7u);
  EXPECT_EQ(ReadStr(*s, 5, 0, 7), std::string("\0\0\0\0new", 7));
  EXPECT_TRUE(s->DataSync(5).ok());
  EXPECT_TRUE(s->DataSync(6).ok());  // no staging file: nothing to sync
}

TEST_F(HeadStagingTest, ListNamesStagingFilesOnly) {
  auto s = OpenOrDie(posix_);
  ASSERT_TRUE(s);
  for (uint64_t ino : {uint64_t{0x10}, uint64_t{3}, UINT64_MAX, uint64_t{1} << 40}) {
    ASSERT_TRUE(s->Write(ino, 0, B("x")).ok());
  }
  // Strays: not 16 lowercase hex digits.
  for (const char* stray : {"tmp", "0000000000000ABC", "00000000000000001", "000000000000000g",
                            ".0000000000000001"}) {
    std::ofstream(dir_ + "/data/" + stray) << "stray";
  }
  auto list = s->List();
  ASSERT_TRUE(list) << list.error().message();
  EXPECT_EQ(*list, (std::vector<uint64_t>{3, 0x10, uint64_t{1} << 40, UINT64_MAX}));
  ASSERT_TRUE(s->Remove(3).ok());
  list = s->List();
  ASSERT_TRUE(list);
  EXPECT_EQ(list->size(), 3u);

  std::filesystem::remove_all(dir_ + "/data");
  list = s->List();
  ASSERT_FALSE(list);
  EXPECT_NE(list.error().message().find(dir_ + "/data"), std::string::npos);
}

TEST_F(HeadStagingTest, HashOfRangesIsSha256OfTheirConcatenation) {
  auto s = OpenOrDie(posix_);
  ASSERT_TRUE(s);
  const Bytes data = Pattern((3 << 20) + 12345, 1);  // several 1 MiB pieces
  ASSERT_TRUE(s->Write(9, 100, data).ok());
  const ByteRange ranges[] = {{100 + 5, 1000}, {100, 3}, {100 + 4096, (2 << 20) + 7},
                              {100 + 10, 0}, {100, data.size()}};
  Bytes concat;
  for (const ByteRange& r : ranges) {
    Append(concat, ByteView(data).subspan(r.offset - 100, r.length));
  }
  auto h = s->Hash(9, ranges);
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(*h, Sha256(concat));
  // A hole reads as zeros.
  const ByteRange hole[] = {{0, 100}};
  EXPECT_EQ(*s->Hash(9, hole), Sha256(Bytes(100, 0)));
  // No ranges: the hash of nothing, file or no file.
  EXPECT_EQ(*s->Hash(9, {}), Sha256({}));
  EXPECT_EQ(*s->Hash(10, {}), Sha256({}));

  const ByteRange any[] = {{0, 1}};
  auto missing = s->Hash(10, any);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  const ByteRange past[] = {{0, 10}, {100 + data.size() - 2, 3}};  // one byte too far
  auto out = s->Hash(9, past);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), ErrorCode::kOutOfRange);
  EXPECT_NE(out.error().message().find(s->PathOf(9)), std::string::npos)
      << out.error().message();
  const ByteRange far[] = {{uint64_t{1} << 40, 1}};
  EXPECT_EQ(s->Hash(9, far).error().code(), ErrorCode::kOutOfRange);
}

TEST_F(HeadStagingTest, AtMostMaxOpenDescriptorsWhateverTheFileCount) {
  const size_t before = OpenFds();
  {
    auto s = OpenOrDie(posix_, 8);
    ASSERT_TRUE(s);
    for (uint64_t ino = 1; ino <= 1000; ++ino) {
      ASSERT_TRUE(s->Write(ino, ino, AsBytes(std::to_string(ino))).ok()) << ino;
      if (ino % 100 == 0) {
        EXPECT_LE(OpenFds(), before + 8) << "after " << ino << " files";
      }
    }
    EXPECT_LE(OpenFds(), before + 8);
    // Every file is still right, read back through evicted handles.
    for (uint64_t ino = 1; ino <= 1000; ino += 37) {
      const std::string want = std::to_string(ino);
      EXPECT_EQ(ReadStr(*s, ino, ino, want.size()), want);
    }
    EXPECT_LE(OpenFds(), before + 8);
    auto list = s->List();
    ASSERT_TRUE(list);
    EXPECT_EQ(list->size(), 1000u);
  }
  EXPECT_EQ(OpenFds(), before) << "the staging closed its handles when destroyed";
}

TEST_F(HeadStagingTest, ConcurrentWritersOnDifferentInodes) {
  auto s = OpenOrDie(posix_, 4);  // fewer handles than threads: evictions under load
  ASSERT_TRUE(s);
  constexpr int kThreads = 8, kFilesEach = 20, kChunks = 16, kChunk = 4096;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int c = 0; c < kChunks; ++c) {
        for (int f = 0; f < kFilesEach; ++f) {
          const uint64_t ino = static_cast<uint64_t>(t * kFilesEach + f + 1);
          Bytes chunk = Pattern(kChunk, static_cast<uint32_t>(ino * 1000 + c));
          EXPECT_TRUE(s->Write(ino, uint64_t{kChunk} * c, chunk).ok());
          if (c % 8 == 0) {
            EXPECT_TRUE(s->DataSync(ino).ok());
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  for (uint64_t ino = 1; ino <= kThreads * kFilesEach; ++ino) {
    Bytes want;
    for (int c = 0; c < kChunks; ++c) {
      Append(want, Pattern(kChunk, static_cast<uint32_t>(ino * 1000 + c)));
    }
    const ByteRange all[] = {{0, want.size()}};
    auto h = s->Hash(ino, all);
    ASSERT_TRUE(h) << h.error().message();
    EXPECT_EQ(*h, Sha256(want)) << "inode " << ino;
  }
}

TEST_F(HeadStagingTest, FullDiskIsNoSpaceNamingTheFileAndHarmsNothingStaged) {
  FaultyLocalFiles disk;
  auto s = OpenOrDie(disk, 2);
  ASSERT_TRUE(s);
  const Bytes a = Pattern(10000, 1), b = Pattern(20000, 2);
  ASSERT_TRUE(s->Write(1, 0, a).ok());
  ASSERT_TRUE(s->Write(2, 0, b).ok());

  disk.FailNth(FileOp::kWrite, 2, ENOSPC);  // the 2nd write from now
  ASSERT_TRUE(s->Write(3, 0, B("fits")).ok());
  Status st = s->Write(3, 4, B("does not"));
  ASSERT_EQ(st.code(), ErrorCode::kNoSpace) << st.message();
  EXPECT_NE(st.message().find(s->PathOf(3)), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("staging area full: free space in " + dir_ +
                              " or raise --staging-size"),
            std::string::npos)
      << st.message();

  // The disk fills in the middle of a write (a short write, then ENOSPC).
  disk.NoSpaceAfter(100);
  st = s->Write(4, 0, Pattern(5000, 4));
  ASSERT_EQ(st.code(), ErrorCode::kNoSpace) << st.message();
  EXPECT_NE(st.message().find(s->PathOf(4)), std::string::npos) << st.message();
  // Creating a file on a full disk (open fails) says the same.
  disk.FailNth(FileOp::kOpen, 1, ENOSPC);
  st = s->Write(5, 0, B("x"));
  ASSERT_EQ(st.code(), ErrorCode::kNoSpace) << st.message();
  EXPECT_NE(st.message().find(s->PathOf(5)), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("--staging-size"), std::string::npos) << st.message();

  // What was staged before is intact, read through reopened handles.
  const ByteRange ra[] = {{0, a.size()}}, rb[] = {{0, b.size()}};
  EXPECT_EQ(*s->Hash(1, ra), Sha256(a));
  EXPECT_EQ(*s->Hash(2, rb), Sha256(b));
  EXPECT_EQ(ReadStr(*s, 3, 0, 4), "fits");

  // Space comes back: writing continues.
  disk.ClearFaults();
  ASSERT_TRUE(s->Write(3, 4, B(" now")).ok());
  EXPECT_EQ(ReadStr(*s, 3, 0, 8), "fits now");
}

TEST_F(HeadStagingTest, IoErrorsNameTheStagingFile) {
  FaultyLocalFiles disk;
  auto s = OpenOrDie(disk);
  ASSERT_TRUE(s);
  disk.FailNth(FileOp::kOpen, 1, EIO);
  Status st = s->Write(1, 0, B("x"));
  EXPECT_EQ(st.code(), ErrorCode::kIOError);
  EXPECT_NE(st.message().find(s->PathOf(1)), std::string::npos) << st.message();
  ASSERT_TRUE(s->Write(1, 0, B("x")).ok());
  disk.FailNth(FileOp::kRead, 1, EIO);
  uint8_t buf[1];
  EXPECT_EQ(s->Read(1, 0, buf).code(), ErrorCode::kIOError);
  const ByteRange r[] = {{0, 1}};
  disk.FailNth(FileOp::kRead, 1, EIO);
  EXPECT_EQ(s->Hash(1, r).error().code(), ErrorCode::kIOError);
  disk.FailNth(FileOp::kSync, 1, EIO);
  st = s->DataSync(1);
  EXPECT_EQ(st.code(), ErrorCode::kIOError);
  EXPECT_NE(st.message().find(s->PathOf(1)), std::string::npos) << st.message();
  disk.FailNth(FileOp::kSyncDir, 1, EIO);  // the file syncs, its directory does not
  EXPECT_EQ(s->DataSync(1).code(), ErrorCode::kIOError);
  const uint64_t dir_syncs = disk.Calls(FileOp::kSyncDir);
  EXPECT_TRUE(s->DataSync(1).ok());  // the failed directory sync is retried
  EXPECT_EQ(disk.Calls(FileOp::kSyncDir), dir_syncs + 1);
  EXPECT_TRUE(s->DataSync(1).ok());  // and not repeated once done
  EXPECT_EQ(disk.Calls(FileOp::kSyncDir), dir_syncs + 1);
  disk.FailNth(FileOp::kTruncate, 1, EIO);
  EXPECT_EQ(s->Truncate(1, 0).code(), ErrorCode::kIOError);
  disk.FailNth(FileOp::kUnlink, 1, EACCES);
  EXPECT_EQ(s->Remove(1).code(), ErrorCode::kPermissionDenied);

  auto space = s->Space();
  ASSERT_TRUE(space) << space.error().message();
  EXPECT_GT(space->total, 0u);
  EXPECT_LE(space->available, space->total);
  disk.FailNth(FileOp::kStatFs, 1, EIO);
  EXPECT_FALSE(s->Space());

  disk.FailNth(FileOp::kCreateDir, 2, EACCES);  // data/
  auto other = HeadStaging::Open(root_ + "/other", disk);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code(), ErrorCode::kPermissionDenied);
}

// Power cut: a DataSync'ed inode keeps exactly its synced bytes; the others
// report the loss when hashed (the tree then marks the file for rsync).
TEST_F(HeadStagingTest, PowerCutKeepsSyncedInodesAndRevealsLostOnes) {
  FaultyLocalFiles disk;
  const Bytes synced = Pattern(300000, 1), unsynced = Pattern(5000, 2);
  const ByteRange rs[] = {{0, synced.size()}}, ru[] = {{0, unsynced.size()}};
  Id before;
  {
    auto s = OpenOrDie(disk, 2);
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->Write(1, 0, synced).ok());
    ASSERT_TRUE(s->Write(2, 0, unsynced).ok());  // created before the sync of 1
    ASSERT_TRUE(s->DataSync(1).ok());
    before = *s->Hash(1, rs);
    ASSERT_TRUE(s->Write(4, 0, unsynced).ok());
    ASSERT_TRUE(s->Write(4, 0, B("x")).ok());
    ASSERT_TRUE(s->DataSync(4).ok());                    // a new file, synced: kept
    ASSERT_TRUE(s->Write(1, 10, Pattern(100, 3)).ok());  // after 1's sync: lost
    ASSERT_TRUE(s->Write(3, 0, unsynced).ok());          // created after every sync
  }  // the staging (and its descriptors) is gone: the machine is off
  disk.DropUnsyncedData();

  auto s = OpenOrDie(disk);
  ASSERT_TRUE(s);
  auto h1 = s->Hash(1, rs);
  ASSERT_TRUE(h1) << h1.error().message();
  EXPECT_EQ(*h1, before);
  EXPECT_EQ(*h1, Sha256(synced));
  auto h2 = s->Hash(2, ru);  // its name was made durable by 1's sync, its data not
  ASSERT_FALSE(h2);
  EXPECT_EQ(h2.error().code(), ErrorCode::kOutOfRange) << h2.error().message();
  auto h3 = s->Hash(3, ru);  // not even its name
  ASSERT_FALSE(h3);
  EXPECT_EQ(h3.error().code(), ErrorCode::kNotFound) << h3.error().message();
  Bytes four = unsynced;
  four[0] = 'x';
  const ByteRange r4[] = {{0, four.size()}};
  EXPECT_EQ(*s->Hash(4, r4), Sha256(four));
  auto list = s->List();
  ASSERT_TRUE(list);
  EXPECT_EQ(*list, (std::vector<uint64_t>{1, 2, 4}));
}

}  // namespace
}  // namespace cairn
