// ArchiveFs reads and walks without a kernel mount: reads by inode (FUSE
// no_open), a corrupted blob failing only its file, read-ahead across the
// files of a directory, and the tree prefetch with its ready listings.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>

#include "repo/crypto.h"
#include "repo/pack.h"
#include "tests/fs/archive_fs_fixture.h"

namespace cairn {
namespace {

using namespace archive_fs_test;  // NOLINT: the fixture

// Reads without an OpenFile (the kernel's no_open mode): per-inode read
// state, shared by parallel readers, evicted beyond kInodeFiles inodes and
// rebuilt on the next read; errors as from Open.
TEST_F(ArchiveFsTest, ReadsByInodeNeedNoOpenFile) {
  for (int i = 0; i < 300; ++i) Write("many" + std::to_string(i), "file " + std::to_string(i));
  Snapshot s = Backup(store_);
  Mounted m = Mount(store_, root_ + "/trees");
  ArchiveFs& fs = *m.fs;
  auto read_ino = [&](uint64_t ino, uint64_t off, size_t n) {
    std::string out(n, '\0');
    auto got = fs.ReadIno(ino, off, std::span(reinterpret_cast<uint8_t*>(out.data()), n));
    EXPECT_TRUE(got) << got.error().message();
    out.resize(got ? *got : 0);
    return out;
  };
  auto big = Walk(fs, InSnap(s, "sub/big.bin"));
  ASSERT_TRUE(big);
  // Four threads read interleaved 64 KiB pieces of one inode at once.
  std::vector<std::string> parts(big_.size() / (64 << 10));
  std::vector<std::thread> readers;
  for (size_t t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      for (size_t i = t; i < parts.size(); i += 4) parts[i] = read_ino(big->ino, i << 16, 64 << 10);
    });
  }
  for (auto& r : readers) r.join();
  std::string joined;
  for (const auto& p : parts) joined += p;
  EXPECT_EQ(joined, big_);
  EXPECT_EQ(read_ino(big->ino, big_.size() - 5, 100), big_.substr(big_.size() - 5));

  // More inodes than the table keeps: each still reads right, twice over.
  static_assert(ArchiveFs::kInodeFiles < 300);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 300; ++i) {
      auto f = Walk(fs, InSnap(s, "many" + std::to_string(i)));
      ASSERT_TRUE(f);
      EXPECT_EQ(read_ino(f->ino, 0, 100), "file " + std::to_string(i));
    }
  }
  std::vector<uint8_t> buf(16);
  auto dir = Walk(fs, InSnap(s, "sub"));
  ASSERT_TRUE(dir);
  EXPECT_FALSE(fs.ReadIno(dir->ino, 0, buf));
  EXPECT_FALSE(fs.ReadIno(0x7fff'ffff'ffff, 0, buf));
}

// Listing a directory decodes its subdirectories (two levels) in the
// background, so a walker's next listings find them decoded; with no
// prefetch threads nothing is decoded ahead.
TEST_F(ArchiveFsTest, ListingADirectoryDecodesItsSubdirectoriesAhead) {
  std::filesystem::create_directories(src_ + "/sub/deeper/deepest/bottom");
  Write("sub/deeper/deepest/bottom/leaf", "leaf");
  Snapshot s = Backup(store_);
  std::vector<std::vector<std::string>> listings;
  for (size_t threads : {size_t{0}, size_t{1}}) {
    SCOPED_TRACE(threads);
    Mounted m = Mount(store_, root_ + "/trees" + std::to_string(threads), 30e9, threads);
    auto top = Walk(*m.fs, "snapshots/" + SnapshotDirName(s) + src_);
    ASSERT_TRUE(top) << top.error().message();
    auto names = Names(*m.fs, top->ino);  // lists src: sub is queued, 2 levels
    EXPECT_NE(std::find(names.begin(), names.end(), "sub"), names.end());
    if (threads == 0) {
      EXPECT_EQ(m.fs->prefetched_dirs(), 0u);
    } else {
      // sub and sub/deeper; not sub/deeper/deepest (beyond the depth).
      WaitForPrefetched(*m.fs);
      EXPECT_EQ(m.fs->prefetched_dirs(), 2u) << "decoded beyond the depth budget";
    }
    // Prefetched or not, the walk sees the same tree and the same numbers.
    auto leaf = Walk(*m.fs, InSnap(s, "sub/deeper/deepest/bottom/leaf"));
    ASSERT_TRUE(leaf) << leaf.error().message();
    auto deeper = Walk(*m.fs, InSnap(s, "sub/deeper"));
    ASSERT_TRUE(deeper);
    EXPECT_EQ(Names(*m.fs, deeper->ino),
              (std::vector<std::string>{".", "..", "deepest", "one"}));
    // sub was listed by the prefetcher: its first listing is the one the
    // prefetcher made, with the same entries, attributes and numbers.
    auto sub = Walk(*m.fs, InSnap(s, "sub"));
    ASSERT_TRUE(sub);
    const uint64_t served = m.fs->ready_listings_served();
    std::vector<std::string> listing;
    Status st = m.fs->ReadDir(sub->ino, 0, [&](const FsDirEntry& e) {
      listing.push_back(e.name + " " + std::to_string(e.attr.ino) + " " +
                        std::to_string(e.attr.mode) + " " + std::to_string(e.attr.size) + " " +
                        std::to_string(e.attr.nlink) + " " + std::to_string(e.attr.blocks) + " " +
                        std::to_string(e.attr.mtime_ns) + " " + std::to_string(e.next_offset));
      return true;
    });
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(m.fs->ready_listings_served() - served, threads == 0 ? 0u : 1u);
    listings.push_back(listing);
  }
  ASSERT_EQ(listings.size(), 2u);
  EXPECT_EQ(listings[0], listings[1]);
  EXPECT_EQ(listings[0].size(), 6u);  // . .. big.bin deeper hardlink link
}

// After a remount on the same tree cache, directories are decoded already,
// yet the prefetcher still prepares listings of the subdirectories of what
// the walker lists (the walker's listing would read LMDB pages from disk);
// a directory listed in this mount is never prepared again.
TEST_F(ArchiveFsTest, RemountPreparesListingsOfDecodedDirectoriesOnce) {
  Snapshot s = Backup(store_);
  const std::string trees = root_ + "/trees";
  {
    Mounted m = Mount(store_, trees, 30e9, /*prefetch_threads=*/0);  // decodes, prefetches nothing
    auto sub = Walk(*m.fs, InSnap(s, "sub"));
    ASSERT_TRUE(sub);
    EXPECT_EQ(Names(*m.fs, sub->ino).size(), 6u);
    auto deeper = Walk(*m.fs, InSnap(s, "sub/deeper"));
    ASSERT_TRUE(deeper);
    EXPECT_EQ(Names(*m.fs, deeper->ino).size(), 3u);
  }
  Mounted m = Mount(store_, trees, 30e9, /*prefetch_threads=*/1);
  auto top = Walk(*m.fs, "snapshots/" + SnapshotDirName(s) + src_);
  ASSERT_TRUE(top);
  Names(*m.fs, top->ino);  // queues sub, then sub/deeper
  WaitForPrefetched(*m.fs);
  EXPECT_EQ(m.fs->prefetched_dirs(), 2u) << "decoded directories were not prepared";
  auto sub = Walk(*m.fs, InSnap(s, "sub"));
  ASSERT_TRUE(sub);
  EXPECT_EQ(Names(*m.fs, sub->ino),
            (std::vector<std::string>{".", "..", "big.bin", "deeper", "hardlink", "link"}));
  EXPECT_EQ(m.fs->ready_listings_served(), 1u);
  // Listing sub queued sub/deeper again: prepared already, it is skipped.
  WaitForPrefetched(*m.fs);
  EXPECT_EQ(m.fs->prefetched_dirs(), 2u) << "a directory was prepared twice";
  // The top directory, listed by the walker, is not prepared when listed
  // again (its parent's listing would queue it).
  Names(*m.fs, top->ino);
  WaitForPrefetched(*m.fs);
  EXPECT_EQ(m.fs->prefetched_dirs(), 2u);
}

TEST_F(ArchiveFsTest, CorruptedBlobFailsOnlyThatFile) {
  Snapshot s = Backup(store_);
  Mounted m = Mount(store_, root_ + "/trees");
  auto big = Walk(*m.fs, InSnap(s, "sub/big.bin"));
  auto hello = Walk(*m.fs, InSnap(s, "hello.txt"));
  ASSERT_TRUE(big && hello);
  // Damage the first blob of big.bin inside its pack.
  std::optional<BlobLocation> loc;
  Id first_blob;
  Status walked = m.repo->cache().ForEachBlob([&](const Id& id, const BlobLocation& l) {
    // The data blob whose plaintext starts big.bin.
    if (loc || l.type != static_cast<uint8_t>(BlobType::kData) || l.raw_length < 4096) return;
    auto codec = m.repo->NewCodec();
    auto plain = m.repo->LoadBlob(BlobType::kData, id, *codec);
    if (plain && plain->size() >= 64 && std::memcmp(plain->data(), big_.data(), 64) == 0) {
      loc = l;
      first_blob = id;
    }
  });
  ASSERT_TRUE(walked.ok());
  ASSERT_TRUE(loc);
  ASSERT_TRUE(store_.MutateRaw(PackKey(loc->pack),
                               [&](Bytes& b) { b[loc->offset + 20] ^= 1; }));
  auto f = m.fs->Open(big->ino, O_RDONLY);
  ASSERT_TRUE(f);
  std::vector<uint8_t> buf(4096);
  auto r = m.fs->Read(**f, 0, buf);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().Is(ErrorCode::kCorruption)) << r.error().message();
  EXPECT_NE(r.error().message().find(first_blob.Short()), std::string::npos)
      << r.error().message();
  EXPECT_EQ(ReadAll(*m.fs, hello->ino), "hello\n");
  EXPECT_TRUE(m.fs->GetAttr(big->ino));  // metadata still there
}

TEST_F(ArchiveFsTest, FilesOfADirectoryOpenedInOrderAreReadAheadAcrossFiles) {
  // tar, cp -r and rsync open a directory's files in readdir order: the
  // files after the one opened are fetched in the background.
  std::filesystem::create_directories(src_ + "/many/zz-dir");
  std::map<std::string, std::string> want;
  for (int i = 0; i < 40; ++i) {
    const std::string name = "f" + std::to_string(100 + i);
    want[name] = test::RandomString(1000 + i * 300, 100 + i);
    Write("many/" + name, want[name]);
  }
  Write("many/zz-dir/inner", "inner");
  Snapshot s = Backup(store_);
  Mounted m = Mount(store_, root_ + "/trees");
  auto dir = Walk(*m.fs, InSnap(s, "many"));
  ASSERT_TRUE(dir);
  size_t files = 0;
  const auto names = Names(*m.fs, dir->ino);
  // Only decoded directories are read ahead into: let the prefetcher
  // decode zz-dir (queued by the listing) first.
  WaitForPrefetched(*m.fs);
  for (const std::string& name : names) {
    if (name == "." || name == ".." || name == "zz-dir") continue;
    auto a = m.fs->Lookup(dir->ino, name);
    ASSERT_TRUE(a) << name;
    EXPECT_EQ(ReadAll(*m.fs, a->ino, 4096), want[name]) << name;
    ++files;
  }
  EXPECT_EQ(files, want.size());
  ContentReaderStats st = m.reader->stats();
  // Every file after the first. In walk order past them, the file of the
  // subdirectory (zz-dir/inner) and the next file after many/ in its
  // parent (sparse; then sub/'s 3 MiB big.bin is beyond the window) are
  // fetched too, not counted: files of other directories.
  EXPECT_EQ(st.prefetch_files, want.size() - 1) << "every file after the first";
  EXPECT_GE(st.prefetch_hits, want.size() - 1);
  EXPECT_EQ(st.prefetch_wasted, 0u) << "files of other directories are not this one's to waste";
  EXPECT_LT(st.store_gets, want.size() / 4) << "adjacent files share ranged GETs";
  // Those two were read ahead: each one's read is served by its prefetch
  // (from RAM, or joining the fetch still running), not by a GET of its
  // own. (Opening them reads ahead further: store_gets would count that.)
  for (const char* rel : {"many/zz-dir/inner", "sparse"}) {
    auto a = Walk(*m.fs, InSnap(s, rel));
    ASSERT_TRUE(a) << rel;
    const uint64_t hits = m.reader->stats().prefetch_hits;
    std::vector<uint8_t> buf(8);
    ASSERT_TRUE(m.fs->ReadIno(a->ino, a->size > 8 ? a->size - 3 : 0, buf)) << rel;
    EXPECT_EQ(m.reader->stats().prefetch_hits, hits + 1) << rel << " was not read ahead";
  }
}

}  // namespace
}  // namespace cairn
