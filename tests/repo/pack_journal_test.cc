// PackJournal on its own: records read back, the recovery rule for damaged
// tails (doc/format.md, "Pack journal"), slots shared by live writers,
// Clear, append failures and kills at every local-file operation.
#include "repo/pack_journal.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/coding.h"
#include "repo/crypto.h"
#include "tests/support/crash_harness.h"
#include "tests/support/faulty_local_files.h"

namespace cairn {
namespace {

namespace fs = std::filesystem;

IndexPack MakePack(uint8_t seed, size_t blobs) {
  IndexPack p;
  p.pack.bytes.fill(seed);
  p.pack_size = 1000 + 100 * blobs;
  for (size_t i = 0; i < blobs; ++i) {
    PackEntry e;
    e.type = i % 2 ? BlobType::kTree : BlobType::kData;
    e.id.bytes.fill(static_cast<uint8_t>(seed + i + 1));
    e.offset = static_cast<uint32_t>(100 * i);
    e.length = 90;
    e.raw_length = 200;
    p.blobs.push_back(e);
  }
  return p;
}

std::vector<Id> Packs(const std::vector<IndexPack>& v) {
  std::vector<Id> ids;
  for (const auto& p : v) ids.push_back(p.pack);
  return ids;
}

class PackJournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cairn-journal-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::unique_ptr<PackJournal> Open(LocalFiles& files = LocalFiles::Posix()) {
    auto j = PackJournal::Open(files, dir_);
    EXPECT_TRUE(j) << j.error().message();
    return j ? std::move(*j) : nullptr;
  }
  std::string Slot(int k) const { return dir_ + "/pack-journal." + std::to_string(k); }
  void AppendRaw(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::app) << bytes;
  }

  std::string dir_;
};

TEST_F(PackJournalTest, RecordsAreReadBackByTheNextWriter) {
  const std::vector<IndexPack> packs = {MakePack(1, 3), MakePack(2, 0), MakePack(3, 500)};
  {
    auto j = Open();
    ASSERT_TRUE(j);
    EXPECT_TRUE(j->recovered().empty());
    for (const auto& p : packs) ASSERT_TRUE(j->Append(p).ok());
  }
  auto j = Open();
  ASSERT_TRUE(j);
  EXPECT_EQ(j->recovered(), packs);
  EXPECT_EQ(j->damaged_slots(), 0u);
  // The own slot continues after them: one more is read after both.
  ASSERT_TRUE(j->Append(MakePack(4, 1)).ok());
  j.reset();
  EXPECT_EQ(Open()->recovered().size(), 4u);
}

TEST_F(PackJournalTest, TornTailIsIgnoredFromTheFirstBadRecord) {
  {
    auto j = Open();
    ASSERT_TRUE(j);
    ASSERT_TRUE(j->Append(MakePack(1, 2)).ok());
    ASSERT_TRUE(j->Append(MakePack(2, 2)).ok());
  }
  // A third record cut short, as a kill during its write leaves it.
  const Bytes rec = PackJournal::EncodeRecord(MakePack(3, 2));
  AppendRaw(Slot(0), std::string(rec.begin(), rec.begin() + rec.size() / 2));
  auto j = Open();
  ASSERT_TRUE(j);
  EXPECT_EQ(Packs(j->recovered()), Packs({MakePack(1, 2), MakePack(2, 2)}));
  EXPECT_EQ(j->damaged_slots(), 1u);
  // The torn part is cut off: a record appended now is read after the two.
  ASSERT_TRUE(j->Append(MakePack(4, 2)).ok());
  j.reset();
  j = Open();
  EXPECT_EQ(Packs(j->recovered()), Packs({MakePack(1, 2), MakePack(2, 2), MakePack(4, 2)}));
  EXPECT_EQ(j->damaged_slots(), 0u);
}

TEST_F(PackJournalTest, BadChecksumLengthOrPayloadEndsTheRecords) {
  const Bytes good = PackJournal::EncodeRecord(MakePack(1, 1));
  auto write = [&](const Bytes& second) {
    std::ofstream(Slot(0), std::ios::binary | std::ios::trunc)
        << std::string(PackJournal::kMagic) << std::string(good.begin(), good.end())
        << std::string(second.begin(), second.end())
        << std::string(good.begin(), good.end());  // never reached
  };
  Bytes flipped = PackJournal::EncodeRecord(MakePack(2, 1));
  flipped[20] ^= 1;  // payload byte: the check differs
  Bytes zero_len = PackJournal::EncodeRecord(MakePack(2, 1));
  zero_len[0] = zero_len[1] = zero_len[2] = zero_len[3] = 0;
  Bytes huge = PackJournal::EncodeRecord(MakePack(2, 1));
  huge[3] = 0x7f;  // ~2 GiB
  // A payload that is not a one-pack segment, with a valid check.
  IndexSegment two;
  two.packs = {MakePack(2, 1), MakePack(3, 1)};
  Bytes payload = EncodeIndexSegment(two);
  Bytes not_one = PackJournal::EncodeRecord(MakePack(2, 1));
  {
    Bytes rec;
    PutFixed32(rec, static_cast<uint32_t>(payload.size()));
    Id h = Sha256(payload);
    rec.insert(rec.end(), h.bytes.begin(), h.bytes.begin() + 4);
    Append(rec, payload);
    not_one = rec;
  }
  for (const Bytes* bad : {&flipped, &zero_len, &huge, &not_one}) {
    write(*bad);
    auto j = Open();
    ASSERT_TRUE(j);
    EXPECT_EQ(Packs(j->recovered()), Packs({MakePack(1, 1)}));
    EXPECT_EQ(j->damaged_slots(), 1u);
  }
}

TEST_F(PackJournalTest, WrongMagicOrShortFileHoldsNoRecords) {
  const Bytes good = PackJournal::EncodeRecord(MakePack(1, 1));
  std::ofstream(Slot(0), std::ios::binary) << "cairnPJ9" << std::string(good.begin(), good.end());
  std::ofstream(Slot(1), std::ios::binary) << "cair";
  auto j = Open();
  ASSERT_TRUE(j);
  EXPECT_TRUE(j->recovered().empty());
  EXPECT_EQ(j->damaged_slots(), 2u);
  // The own slot got a fresh header and works.
  ASSERT_TRUE(j->Append(MakePack(2, 1)).ok());
  j.reset();
  EXPECT_EQ(Packs(Open()->recovered()), Packs({MakePack(2, 1)}));
}

TEST_F(PackJournalTest, LiveWritersHaveTheirOwnSlotsAndDeadOnesAreRead) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->path(), b->path());
  ASSERT_TRUE(a->Append(MakePack(1, 1)).ok());
  ASSERT_TRUE(b->Append(MakePack(2, 1)).ok());
  // A third writer sees neither: both slots are held.
  auto c = Open();
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->recovered().empty());
  c.reset();
  b.reset();  // b dies: its slot is free and read by the next writer
  auto d = Open();
  ASSERT_TRUE(d);
  EXPECT_EQ(Packs(d->recovered()), Packs({MakePack(2, 1)}));
  EXPECT_NE(d->path(), a->path());
}

TEST_F(PackJournalTest, AllSlotsHeldIsLocked) {
  std::vector<std::unique_ptr<PackJournal>> held;
  for (int i = 0; i < PackJournal::kSlots; ++i) held.push_back(Open());
  auto j = PackJournal::Open(LocalFiles::Posix(), dir_);
  ASSERT_FALSE(j);
  EXPECT_TRUE(j.error().Is(ErrorCode::kLocked)) << j.error().message();
}

TEST_F(PackJournalTest, ClearKeepsOnlyTheGivenRecordsAndReleasesOtherSlots) {
  {
    auto a = Open();
    auto b = Open();
    ASSERT_TRUE(a->Append(MakePack(1, 1)).ok());
    ASSERT_TRUE(b->Append(MakePack(2, 1)).ok());
  }
  auto j = Open();
  ASSERT_TRUE(j);
  EXPECT_EQ(j->claimed_slots(), 2u);
  EXPECT_EQ(j->recovered().size(), 2u);
  ASSERT_TRUE(j->Append(MakePack(3, 1)).ok());
  const IndexPack keep = MakePack(4, 2);
  const IndexPack* keep_ptrs[] = {&keep};
  ASSERT_TRUE(j->Clear(keep_ptrs).ok());
  EXPECT_EQ(j->claimed_slots(), 1u);
  EXPECT_EQ(fs::file_size(Slot(1)), 0u);
  // The released slot is free for another writer at once.
  auto other = Open();
  ASSERT_TRUE(other);
  EXPECT_EQ(other->path(), Slot(1));
  other.reset();
  j.reset();
  EXPECT_EQ(Packs(Open()->recovered()), Packs({keep}));
  // And an empty Clear leaves just the header.
  auto k = Open();
  ASSERT_TRUE(k->Clear().ok());
  EXPECT_EQ(fs::file_size(k->path()), PackJournal::kHeaderSize);
}

TEST_F(PackJournalTest, FailedAppendIsCutOffAndLaterAppendsAreRead) {
  FaultyLocalFiles disk;
  auto j = Open(disk);
  ASSERT_TRUE(j);
  ASSERT_TRUE(j->Append(MakePack(1, 1)).ok());
  // A short write then EIO: a torn record on disk, cut off again.
  disk.ShortWrites(10);
  disk.FailNth(FileOp::kWrite, 2, EIO);
  Status s = j->Append(MakePack(2, 1));
  EXPECT_FALSE(s.ok());
  disk.ClearFaults();
  ASSERT_TRUE(j->Append(MakePack(3, 1)).ok());
  // fdatasync failing counts as a failed append too.
  disk.FailNth(FileOp::kSync, 1, EIO);
  EXPECT_FALSE(j->Append(MakePack(4, 1)).ok());
  j.reset();
  auto r = Open();
  std::vector<Id> got = Packs(r->recovered());
  // Pack 4's record was written (only its sync failed) and may be read.
  if (got.size() == 3) got.pop_back();
  EXPECT_EQ(got, Packs({MakePack(1, 1), MakePack(3, 1)}));
}

TEST_F(PackJournalTest, AppendsStopWhenTheTornRecordCannotBeCutOff) {
  FaultyLocalFiles disk;
  auto j = Open(disk);
  ASSERT_TRUE(j);
  disk.FailNth(FileOp::kWrite, 1, ENOSPC);
  disk.FailNth(FileOp::kTruncate, 1, EIO);
  EXPECT_TRUE(j->Append(MakePack(1, 1)).Is(ErrorCode::kNoSpace));
  EXPECT_FALSE(j->Append(MakePack(2, 1)).ok());  // refused until a Clear
  ASSERT_TRUE(j->Clear().ok());
  ASSERT_TRUE(j->Append(MakePack(3, 1)).ok());
  j.reset();
  EXPECT_EQ(Packs(Open()->recovered()), Packs({MakePack(3, 1)}));
}

TEST_F(PackJournalTest, KilledAtAnyOperationLeavesAPrefixOfTheRecords) {
  const std::vector<IndexPack> packs = {MakePack(1, 40), MakePack(2, 40), MakePack(3, 40)};
  const std::vector<Id> ids = Packs(packs);
  for (uint64_t n = 1;; ++n) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ChildEnd end = RunKilledAtOp(n, [&](LocalFiles& files) {
      auto j = PackJournal::Open(files, dir_);
      if (!j) return 2;
      for (const auto& p : packs) {
        if (!(*j)->Append(p).ok()) return 3;
      }
      return (*j)->Clear().ok() ? 0 : 4;
    });
    ASSERT_TRUE(end.killed || end.finished()) << "n=" << n << ": " << end.Describe();
    auto j = Open();
    ASSERT_TRUE(j) << "n=" << n;
    const std::vector<Id> got = Packs(j->recovered());
    ASSERT_LE(got.size(), ids.size()) << "n=" << n;
    EXPECT_TRUE(std::equal(got.begin(), got.end(), ids.begin())) << "n=" << n;
    if (end.finished()) {
      EXPECT_TRUE(got.empty());
      EXPECT_GT(n, 5u);  // the kills did cover the appends
      break;
    }
  }
}

}  // namespace
}  // namespace cairn
