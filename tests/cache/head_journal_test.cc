// HeadJournal against its contract: batches applied in order and all or
// nothing (a full map included), whiteouts, scan order, ClearEntries, the
// format check, damaged records, and a daemon killed while committing.
#include "cache/head_journal.h"

#include <gtest/gtest.h>
#include <lmdb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>
#include <tuple>
#include <vector>

#include "common/coding.h"
#include "tests/support/crash_harness.h"

namespace cairn {
namespace {

class HeadJournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cairn-head-journal-XXXXXX";
    root_ = mkdtemp(tmpl);
    dir_ = root_ + "/staging/journal";  // parents are created too
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::unique_ptr<HeadJournal> OpenOrDie(uint64_t map_size = uint64_t{1} << 30) {
    auto j = HeadJournal::Open(dir_, map_size);
    EXPECT_TRUE(j) << j.error().message();
    return j ? std::move(*j) : nullptr;
  }
  static ByteView B(std::string_view s) { return AsBytes(s); }
  static std::map<uint64_t, std::string> Inodes(const HeadJournal& j) {
    std::map<uint64_t, std::string> out;
    Status st = j.ForEachInode([&](uint64_t ino, ByteView rec) {
      out[ino] = ToString(rec);
      return Status::OK();
    });
    EXPECT_TRUE(st.ok()) << st.message();
    return out;
  }
  using Dirent = std::tuple<uint64_t, std::string, uint64_t>;
  static std::vector<Dirent> Dirents(const HeadJournal& j) {
    std::vector<Dirent> out;
    Status st = j.ForEachDirent([&](uint64_t parent, std::string_view name, uint64_t child) {
      out.emplace_back(parent, std::string(name), child);
      return Status::OK();
    });
    EXPECT_TRUE(st.ok()) << st.message();
    return out;
  }
  static std::string Meta(const HeadJournal& j, std::string_view key) {
    auto v = j.GetMeta(key);
    EXPECT_TRUE(v) << v.error().message();
    return v && *v ? ToString(**v) : "<absent>";
  }
  // Writes one raw record into a table of the closed journal (damage).
  void PutRaw(const char* table, ByteView key, ByteView value) {
    MDB_env* env;
    ASSERT_EQ(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 8);
    ASSERT_EQ(mdb_env_open(env, dir_.c_str(), 0, 0600), 0);
    MDB_txn* txn;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
    MDB_dbi dbi;
    ASSERT_EQ(mdb_dbi_open(txn, table, 0, &dbi), 0);
    MDB_val k{key.size(), const_cast<uint8_t*>(key.data())};
    MDB_val v{value.size(), const_cast<uint8_t*>(value.data())};
    ASSERT_EQ(mdb_put(txn, dbi, &k, &v, 0), 0);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
  }

  std::string root_, dir_;
};

TEST_F(HeadJournalTest, BatchOpsApplyInOrder) {
  auto j = OpenOrDie();
  ASSERT_TRUE(j);
  EXPECT_EQ(j->dir(), dir_);
  HeadJournal::Batch b;
  EXPECT_TRUE(b.empty());
  b.PutInode(5, B("first"));
  b.PutInode(5, B("second"));  // later op wins
  b.PutInode(6, B("gone"));
  b.DeleteInode(6);
  b.DeleteInode(7);  // absent: no error
  b.PutDirent(1, "a", 5);
  b.PutDirent(1, "b", 6);
  b.DeleteDirent(1, "b");
  b.DeleteDirent(1, "never");  // absent: no error
  b.PutMeta("next_ino", B("x"));
  b.PutMeta("next_ino", B("y"));
  EXPECT_EQ(b.size(), 11u);
  ASSERT_TRUE(j->Commit(b).ok());
  EXPECT_EQ(Inodes(*j), (std::map<uint64_t, std::string>{{5, "second"}}));
  EXPECT_EQ(Dirents(*j), (std::vector<Dirent>{{1, "a", 5}}));
  EXPECT_EQ(Meta(*j, "next_ino"), "y");
  EXPECT_EQ(Meta(*j, "base"), "<absent>");
  EXPECT_EQ(j->InodeCount(), 1u);
  EXPECT_EQ(j->DirentCount(), 1u);
  EXPECT_TRUE(j->Commit(HeadJournal::Batch()).ok());  // empty: nothing to do
  EXPECT_TRUE(j->Sync().ok());

  // ClearEntries in the middle of a batch: what follows it stays.
  HeadJournal::Batch c;
  c.PutInode(9, B("before clear"));
  c.ClearEntries();
  c.PutInode(10, B("after clear"));
  c.PutDirent(1, "z", 10);
  ASSERT_TRUE(j->Commit(c).ok());
  EXPECT_EQ(Inodes(*j), (std::map<uint64_t, std::string>{{10, "after clear"}}));
  EXPECT_EQ(Dirents(*j), (std::vector<Dirent>{{1, "z", 10}}));
}

TEST_F(HeadJournalTest, WhiteoutsAndScanOrder) {
  auto j = OpenOrDie();
  ASSERT_TRUE(j);
  HeadJournal::Batch b;
  // Inode numbers whose little-endian bytes would sort differently.
  for (uint64_t ino : {uint64_t{256}, uint64_t{1}, uint64_t{1} << 32, UINT64_MAX, uint64_t{2}}) {
    b.PutInode(ino, AsBytes(std::to_string(ino)));
  }
  // Names compared as unsigned bytes: 'A' < 'z' < 0x80 < 0xff; a prefix first.
  b.PutDirent(2, "\xff", 0);  // a whiteout
  b.PutDirent(2, "z", 11);
  b.PutDirent(2, "\x80" "a", 12);
  b.PutDirent(2, "A", 0);
  b.PutDirent(2, "z\xff", 13);
  b.PutDirent(256, "a", 14);
  b.PutDirent(1, "\xff\xff", 15);
  b.PutDirent(1, "", 16);  // the journal does not judge names
  ASSERT_TRUE(j->Commit(b).ok());
  std::vector<uint64_t> inos;
  ASSERT_TRUE(j->ForEachInode([&](uint64_t ino, ByteView rec) {
    EXPECT_EQ(ToString(rec), std::to_string(ino));
    inos.push_back(ino);
    return Status::OK();
  }).ok());
  EXPECT_EQ(inos, (std::vector<uint64_t>{1, 2, 256, uint64_t{1} << 32, UINT64_MAX}));
  EXPECT_EQ(Dirents(*j), (std::vector<Dirent>{{1, "", 16},
                                              {1, "\xff\xff", 15},
                                              {2, "A", 0},
                                              {2, "z", 11},
                                              {2, "z\xff", 13},
                                              {2, "\x80" "a", 12},
                                              {2, "\xff", 0},
                                              {256, "a", 14}}));
  // A whiteout replaced by an entry and back.
  HeadJournal::Batch c;
  c.PutDirent(2, "A", 20);
  c.PutDirent(2, "z", 0);
  ASSERT_TRUE(j->Commit(c).ok());
  auto d = Dirents(*j);
  EXPECT_EQ(d[2], (Dirent{2, "A", 20}));
  EXPECT_EQ(d[3], (Dirent{2, "z", 0}));
}

TEST_F(HeadJournalTest, ScanStopsAtTheCallersError) {
  auto j = OpenOrDie();
  ASSERT_TRUE(j);
  HeadJournal::Batch b;
  for (uint64_t i = 1; i <= 5; ++i) {
    b.PutInode(i, B("r"));
    b.PutDirent(1, std::to_string(i), i);
  }
  ASSERT_TRUE(j->Commit(b).ok());
  int seen = 0;
  Status st = j->ForEachInode([&](uint64_t ino, ByteView) {
    ++seen;
    return ino == 3 ? Status::Cancelled("stop at 3") : Status::OK();
  });
  EXPECT_EQ(st.code(), ErrorCode::kCancelled);
  EXPECT_EQ(st.message(), "stop at 3");
  EXPECT_EQ(seen, 3);
  seen = 0;
  st = j->ForEachDirent([&](uint64_t, std::string_view, uint64_t) {
    ++seen;
    return Status::Corruption("first");
  });
  EXPECT_EQ(st.code(), ErrorCode::kCorruption);
  EXPECT_EQ(seen, 1);
}

TEST_F(HeadJournalTest, ClearEntriesKeepsMetaAndReopenKeepsEverything) {
  {
    auto j = OpenOrDie();
    ASSERT_TRUE(j);
    HeadJournal::Batch b;
    b.PutMeta("base", B("snapshot-id"));
    b.PutMeta("series", B("web1"));
    b.PutInode(3, B("rec3"));
    b.PutDirent(1, "f", 3);
    b.PutDirent(1, "deleted", 0);
    ASSERT_TRUE(j->Commit(b).ok());
    ASSERT_TRUE(j->Sync().ok());
  }
  {
    auto j = OpenOrDie();  // reopen: everything is there, the format too
    ASSERT_TRUE(j);
    EXPECT_EQ(Meta(*j, "base"), "snapshot-id");
    EXPECT_EQ(Meta(*j, "series"), "web1");
    Bytes format;
    PutFixed32(format, HeadJournal::kFormat);
    EXPECT_EQ(Meta(*j, "format"), ToString(format));
    EXPECT_EQ(Inodes(*j), (std::map<uint64_t, std::string>{{3, "rec3"}}));
    EXPECT_EQ(Dirents(*j), (std::vector<Dirent>{{1, "deleted", 0}, {1, "f", 3}}));

    HeadJournal::Batch c;
    c.ClearEntries();
    c.PutMeta("base", B("new-snapshot"));
    ASSERT_TRUE(j->Commit(c).ok());
    EXPECT_EQ(j->InodeCount(), 0u);
    EXPECT_EQ(j->DirentCount(), 0u);
    EXPECT_EQ(Meta(*j, "series"), "web1");
  }
  auto j = OpenOrDie();
  ASSERT_TRUE(j);
  EXPECT_EQ(j->InodeCount(), 0u);
  EXPECT_EQ(j->DirentCount(), 0u);
  EXPECT_EQ(Meta(*j, "base"), "new-snapshot");
  EXPECT_EQ(Meta(*j, "series"), "web1");
}

TEST_F(HeadJournalTest, CreatedPrivate) {
  auto j = OpenOrDie();
  ASSERT_TRUE(j);
  struct stat st;
  ASSERT_EQ(::stat(dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  for (const char* f : {"/data.mdb", "/lock.mdb"}) {
    ASSERT_EQ(::stat((dir_ + f).c_str(), &st), 0) << f;
    EXPECT_EQ(st.st_mode & 077, 0u) << f << ": readable by others";
  }
}

TEST_F(HeadJournalTest, NewerFormatIsRefused) {
  {
    auto j = OpenOrDie();
    ASSERT_TRUE(j);
    Bytes newer;
    PutFixed32(newer, HeadJournal::kFormat + 1);
    HeadJournal::Batch b;
    b.PutMeta("format", newer);
    b.PutInode(1, B("written by the future"));
    ASSERT_TRUE(j->Commit(b).ok());
  }
  for (int i = 0; i < 2; ++i) {  // a refused open changes nothing: still refused
    auto j = HeadJournal::Open(dir_);
    ASSERT_FALSE(j);
    EXPECT_EQ(j.error().code(), ErrorCode::kUnsupported);
    EXPECT_NE(j.error().message().find(dir_), std::string::npos) << j.error().message();
    EXPECT_NE(j.error().message().find("written by a newer cairn; upgrade cairn"),
              std::string::npos)
        << j.error().message();
  }
}

TEST_F(HeadJournalTest, DamagedRecordsAreCorruption) {
  { ASSERT_TRUE(OpenOrDie()); }
  PutRaw("inodes", B("abc"), B("short key"));
  PutRaw("dirents", B("1234567"), B("12345678"));
  {
    auto j = OpenOrDie();
    ASSERT_TRUE(j);
    Status st = j->ForEachInode([](uint64_t, ByteView) { return Status::OK(); });
    EXPECT_EQ(st.code(), ErrorCode::kCorruption);
    EXPECT_NE(st.message().find(dir_), std::string::npos) << st.message();
    st = j->ForEachDirent([](uint64_t, std::string_view, uint64_t) { return Status::OK(); });
    EXPECT_EQ(st.code(), ErrorCode::kCorruption) << st.message();
  }
  Bytes key;
  PutBigEndian64(key, 1);
  PutRaw("dirents", key, B("child"));  // a child of 5 bytes
  PutRaw("inodes", B("abc"), B(""));
  {
    auto j = OpenOrDie();
    ASSERT_TRUE(j);
    Status st = j->ForEachDirent([](uint64_t, std::string_view, uint64_t) { return Status::OK(); });
    EXPECT_EQ(st.code(), ErrorCode::kCorruption) << st.message();
  }
  PutRaw("meta", B("format"), B("xyz"));
  auto j = HeadJournal::Open(dir_);
  ASSERT_FALSE(j);
  EXPECT_EQ(j.error().code(), ErrorCode::kCorruption);
  EXPECT_NE(j.error().message().find(dir_), std::string::npos);
}

TEST_F(HeadJournalTest, OpenFailsWhereNoDirectoryCanBe) {
  ASSERT_TRUE(std::filesystem::create_directories(root_ + "/staging"));
  { std::ofstream(root_ + "/staging/journal") << "a file"; }
  auto j = HeadJournal::Open(dir_);
  ASSERT_FALSE(j);
  EXPECT_EQ(j.error().code(), ErrorCode::kIOError);
  EXPECT_NE(j.error().message().find(dir_), std::string::npos) << j.error().message();
}

// A full map fails the batch with NoSpace and applies none of it, even its
// ops that fitted; the journal then takes smaller batches.
TEST_F(HeadJournalTest, FullMapIsNoSpaceAndAppliesNothing) {
  auto j = OpenOrDie(1 << 20);
  ASSERT_TRUE(j);
  HeadJournal::Batch before;
  before.PutInode(1, B("one"));
  before.PutInode(2, B("two"));
  before.PutDirent(1, "two", 2);
  before.PutMeta("next_ino", B("3"));
  ASSERT_TRUE(j->Commit(before).ok());

  const std::string big(4000, 'x');
  HeadJournal::Batch huge;
  huge.PutInode(1, B("changed"));  // these fit, and must not stay
  huge.DeleteInode(2);
  huge.DeleteDirent(1, "two");
  huge.PutMeta("next_ino", B("999"));
  huge.ClearEntries();
  for (uint64_t i = 100; i < 100 + 600; ++i) huge.PutInode(i, AsBytes(big));  // ~2.4 MB
  Status st = j->Commit(huge);
  ASSERT_EQ(st.code(), ErrorCode::kNoSpace) << st.message();
  EXPECT_NE(st.message().find(dir_), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("cairn seal"), std::string::npos) << st.message();

  EXPECT_EQ(Inodes(*j), (std::map<uint64_t, std::string>{{1, "one"}, {2, "two"}}));
  EXPECT_EQ(Dirents(*j), (std::vector<Dirent>{{1, "two", 2}}));
  EXPECT_EQ(Meta(*j, "next_ino"), "3");

  HeadJournal::Batch small;
  small.PutInode(3, AsBytes(big));
  small.PutMeta("next_ino", B("4"));
  ASSERT_TRUE(j->Commit(small).ok());
  EXPECT_EQ(j->InodeCount(), 3u);
  EXPECT_EQ(Meta(*j, "next_ino"), "4");
  EXPECT_TRUE(j->Sync().ok());
}

// A name LMDB cannot key fails its batch whole (no partial application).
TEST_F(HeadJournalTest, OversizedNameFailsTheWholeBatch) {
  auto j = OpenOrDie();
  ASSERT_TRUE(j);
  HeadJournal::Batch b;
  b.PutInode(7, B("seven"));
  b.PutDirent(1, std::string(4096, 'n'), 7);
  Status st = j->Commit(b);
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << st.message();
  EXPECT_NE(st.message().find(dir_), std::string::npos) << st.message();
  EXPECT_EQ(j->InodeCount(), 0u);
  b = HeadJournal::Batch();
  b.PutDirent(1, std::string(255, 'n'), 7);  // NAME_MAX fits
  EXPECT_TRUE(j->Commit(b).ok());
}

TEST_F(HeadJournalTest, ConcurrentCommitsAreEachAtomic) {
  auto j = OpenOrDie();
  ASSERT_TRUE(j);
  constexpr int kThreads = 4, kBatches = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kBatches; ++i) {
        const uint64_t n = static_cast<uint64_t>(t * kBatches + i);
        HeadJournal::Batch b;
        b.PutInode(2 * n + 2, B("a"));
        b.PutInode(2 * n + 3, B("b"));
        b.PutDirent(1, std::to_string(n), 2 * n + 2);
        EXPECT_TRUE(j->Commit(b).ok());
        if (i % 50 == 0) {
          EXPECT_TRUE(j->Sync().ok());
          EXPECT_EQ(j->InodeCount() % 2, 0u);  // readers never see half a batch
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(j->InodeCount(), 2u * kThreads * kBatches);
  EXPECT_EQ(j->DirentCount(), uint64_t{kThreads} * kBatches);
}

// kill -9 while committing: the journal opens and holds a prefix of the
// batches, each whole. Batch n writes inodes 2n and 2n+1 (a pair that must
// come together), dirent n and meta "n" = n + 1; each run continues from
// what the last kill left.
TEST_F(HeadJournalTest, KilledWhileCommittingKeepsAPrefixOfWholeBatches) {
  std::mt19937 rng(20261212);
  int killed = 0;
  uint64_t last = 0;
  for (int run = 0; run < 12; ++run) {
    auto delay = std::chrono::microseconds(3000 + rng() % 40000);
    ChildEnd end = RunKilledAfter(delay, [&] {
      auto j = HeadJournal::Open(dir_);
      if (!j) return 2;
      auto n = (*j)->GetMeta("n");
      if (!n) return 3;
      uint64_t next = *n ? DecodeFixed64((*n)->data()) : 0;
      const std::string record(300, 'r');
      for (int i = 0; i < 20000; ++i, ++next) {
        HeadJournal::Batch b;
        b.PutInode(2 * next, AsBytes(record));
        b.PutDirent(1, std::to_string(next), 2 * next);
        b.PutInode(2 * next + 1, AsBytes(record));
        Bytes v;
        PutFixed64(v, next + 1);
        b.PutMeta("n", v);
        if (!(*j)->Commit(b).ok()) return 4;
        if (i % 997 == 0 && !(*j)->Sync().ok()) return 5;
      }
      return 0;
    });
    ASSERT_TRUE(end.killed || end.finished()) << "run " << run << ": " << end.Describe();
    killed += end.killed;

    auto j = OpenOrDie();
    ASSERT_TRUE(j) << "run " << run;
    auto n = j->GetMeta("n");
    ASSERT_TRUE(n);
    const uint64_t count = *n ? DecodeFixed64((*n)->data()) : 0;
    EXPECT_GE(count, last) << "run " << run << ": committed batches went missing";
    last = count;
    EXPECT_EQ(j->InodeCount(), 2 * count) << "run " << run;
    EXPECT_EQ(j->DirentCount(), count) << "run " << run;
    uint64_t expect = 0;
    ASSERT_TRUE(j->ForEachInode([&](uint64_t ino, ByteView rec) {
      EXPECT_EQ(ino, expect++);
      EXPECT_EQ(rec.size(), 300u);
      return Status::OK();
    }).ok());
    uint64_t dirents = 0;
    ASSERT_TRUE(j->ForEachDirent([&](uint64_t parent, std::string_view name, uint64_t child) {
      EXPECT_EQ(parent, 1u);
      uint64_t k = std::stoull(std::string(name));
      EXPECT_LT(k, count);
      EXPECT_EQ(child, 2 * k);
      ++dirents;
      return Status::OK();
    }).ok());
    EXPECT_EQ(dirents, count);
  }
  EXPECT_GT(killed, 0) << "no run was killed before it ended: lengthen the loop";
  EXPECT_GT(last, 0u) << "no batch was ever committed";
}

}  // namespace
}  // namespace cairn
