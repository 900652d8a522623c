#include "backend/local_dir_store.h"

#include <gtest/gtest.h>

#include <map>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/support/store_conformance.h"

namespace cairn {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<ObjectStore> MakeLocalDirStore() {
  std::string dir = MakeTempDir("store");
  return std::make_unique<DirOwningStore>(std::make_unique<LocalDirStore>(dir), dir);
}

INSTANTIATE_TEST_SUITE_P(LocalDir, StoreConformanceTest,
                         ::testing::Values(StoreFactory{"localdir", MakeLocalDirStore}),
                         StoreFactoryName());

// Unmounts on destruction, so a failing assertion does not leave a mount.
class TmpfsMount {
 public:
  // Mounts a tmpfs with the given options at dir; ok() says whether it worked.
  TmpfsMount(const std::string& dir, const std::string& options) : dir_(dir) {
    fs::create_directories(dir);
    mounted_ = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()) == 0;
    err_ = mounted_ ? 0 : errno;
  }
  ~TmpfsMount() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool ok() const { return mounted_; }
  std::string why() const { return std::strerror(err_); }

 private:
  std::string dir_;
  bool mounted_ = false;
  int err_ = 0;
};

class LocalDirStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("localdir");
    ASSERT_FALSE(dir_.empty());
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Every regular file under root, as paths relative to it.
  static std::vector<std::string> Files(const std::string& root) {
    std::vector<std::string> out;
    for (auto& e : fs::recursive_directory_iterator(root)) {
      if (e.is_regular_file()) out.push_back(fs::relative(e.path(), root).string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  static std::vector<std::string> Keys(ObjectStore& s, std::string_view prefix) {
    std::vector<std::string> keys;
    EXPECT_TRUE(s.List(prefix, [&](const ObjectInfo& i) {
                   keys.push_back(i.key);
                   return Status::OK();
                 }).ok());
    std::sort(keys.begin(), keys.end());
    return keys;
  }
  static void WriteFile(const std::string& path, const std::string& data) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << data;
  }

  std::string dir_;
};

TEST_F(LocalDirStoreTest, PutCreatesMissingDirectoriesAndPlainFiles) {
  LocalDirStore store(dir_ + "/repo/");  // root missing, trailing slash
  ObjectStore& s = store;
  EXPECT_EQ(s.Describe(), dir_ + "/repo");
  ASSERT_TRUE(s.Put("packs/3f/3f9a", AsBytes("pack bytes")).ok());
  std::ifstream in(dir_ + "/repo/packs/3f/3f9a", std::ios::binary);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "pack bytes");
  struct stat st;
  ASSERT_EQ(::stat((dir_ + "/repo/packs/3f/3f9a").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir_ + "/repo/packs/3f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(LocalDirStoreTest, PutLeavesNoTemporaryFiles) {
  LocalDirStore store(dir_);
  ObjectStore& s = store;
  ASSERT_TRUE(s.Put("config", AsBytes("c")).ok());
  ASSERT_TRUE(s.Put("packs/ab/abcd", AsBytes("data")).ok());
  ASSERT_TRUE(s.Put("packs/ab/abcd", AsBytes("data2")).ok());  // overwrite
  PutOptions once;
  once.if_not_exists = true;
  ASSERT_TRUE(s.Put("index/i1", AsBytes("i"), once).ok());
  EXPECT_EQ(Files(dir_), (std::vector<std::string>{"config", "index/i1", "packs/ab/abcd"}));
}

TEST_F(LocalDirStoreTest, RefusedIfNotExistsLeavesNoTemporaryFile) {
  LocalDirStore store(dir_);
  ObjectStore& s = store;
  ASSERT_TRUE(s.Put("keys/k", AsBytes("first")).ok());
  PutOptions once;
  once.if_not_exists = true;
  Status st = s.Put("keys/k", AsBytes("second"), once);
  EXPECT_EQ(st.code(), ErrorCode::kAlreadyExists);
  EXPECT_NE(st.message().find(dir_ + "/keys/k"), std::string::npos) << st.message();
  EXPECT_EQ(Files(dir_), std::vector<std::string>{"keys/k"});
  EXPECT_EQ(ToString(*s.Get("keys/k")), "first");
}

TEST_F(LocalDirStoreTest, TemporaryFilesAreInvisible) {
  LocalDirStore store(dir_);
  ObjectStore& s = store;
  WriteFile(dir_ + "/.tmp-root", "partial");
  WriteFile(dir_ + "/index/.tmp-123", "partial");
  WriteFile(dir_ + "/packs/ab/.tmp-456", "partial");
  ASSERT_TRUE(s.Put("index/real", AsBytes("x")).ok());
  ASSERT_TRUE(s.Put("packs/ab/abcd", AsBytes("y")).ok());
  EXPECT_EQ(Keys(s, ""), (std::vector<std::string>{"index/real", "packs/ab/abcd"}));
  EXPECT_EQ(Keys(s, "index/"), std::vector<std::string>{"index/real"});
  EXPECT_TRUE(Keys(s, "index/.tmp").empty());
  EXPECT_EQ(s.Head("index/.tmp-123").error().code(), ErrorCode::kInvalidArgument);
}

// What List hides, ListIncomplete reports (check and index rebuild name a
// pack a second Ctrl-C left behind).
TEST_F(LocalDirStoreTest, ListIncompleteReportsTemporaryFiles) {
  LocalDirStore store(dir_);
  ObjectStore& s = store;
  WriteFile(dir_ + "/.tmp-root", "p");
  WriteFile(dir_ + "/index/.tmp-123", "partial");
  WriteFile(dir_ + "/packs/ab/.tmp-456", "partial pack");
  ASSERT_TRUE(s.Put("packs/ab/abcd", AsBytes("y")).ok());
  auto list = [&](std::string_view prefix) {
    std::map<std::string, uint64_t> out;
    EXPECT_TRUE(ListIncompleteWrites(s, prefix, [&](const IncompleteWrite& w) {
                   EXPECT_GT(w.mtime_ns, 0);
                   out[w.name] = w.size;
                   return Status::OK();
                 }).ok());
    return out;
  };
  EXPECT_EQ(list(""), (std::map<std::string, uint64_t>{
                          {".tmp-root", 1}, {"index/.tmp-123", 7}, {"packs/ab/.tmp-456", 12}}));
  EXPECT_EQ(list("packs/"), (std::map<std::string, uint64_t>{{"packs/ab/.tmp-456", 12}}));
  EXPECT_TRUE(list("snapshots/").empty());
}

TEST_F(LocalDirStoreTest, KeysThatCouldEscapeTheRootAreRefused) {
  LocalDirStore store(dir_ + "/repo");
  ObjectStore& s = store;
  for (const char* key : {"", "/etc/passwd", "../escape", "a/../../escape", "a//b", "a/./b", "a/",
                          ".", ".tmp-x", "packs/.tmp-1"}) {
    EXPECT_EQ(s.Put(key, AsBytes("x")).code(), ErrorCode::kInvalidArgument) << key;
    EXPECT_EQ(s.Get(key).error().code(), ErrorCode::kInvalidArgument) << key;
    EXPECT_EQ(s.Head(key).error().code(), ErrorCode::kInvalidArgument) << key;
    EXPECT_EQ(s.Delete(key).code(), ErrorCode::kInvalidArgument) << key;
  }
  Status list = s.List("../", [](const ObjectInfo&) { return Status::OK(); });
  EXPECT_EQ(list.code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(Files(dir_).empty());
}

TEST_F(LocalDirStoreTest, DirectoriesAreNotObjects) {
  LocalDirStore store(dir_);
  ObjectStore& s = store;
  ASSERT_TRUE(s.Put("packs/ab/abcd", AsBytes("y")).ok());
  EXPECT_EQ(s.Get("packs").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(s.Head("packs/ab").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(s.Get("packs/ab/abcd/x").error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(s.Delete("packs/ab/abcd/x").ok());
}

TEST_F(LocalDirStoreTest, MissingRootIsEmpty) {
  LocalDirStore store(dir_ + "/does/not/exist");
  ObjectStore& s = store;
  auto get = s.Get("config");
  ASSERT_FALSE(get);
  EXPECT_EQ(get.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(get.error().message().find(dir_ + "/does/not/exist/config"), std::string::npos)
      << get.error().message();
  EXPECT_EQ(s.Head("config").error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(Keys(s, "").empty());
  EXPECT_TRUE(Keys(s, "packs/ab/").empty());
  EXPECT_TRUE(s.Delete("config").ok());
  EXPECT_FALSE(fs::exists(dir_ + "/does"));
}

TEST_F(LocalDirStoreTest, UnwritableDirectoryIsPermissionDenied) {
  // Root bypasses permission bits; a thread whose file-system uid is not 0
  // loses CAP_DAC_OVERRIDE (setfsuid is per thread), so it sees EACCES.
  LocalDirStore store(dir_ + "/repo");
  ObjectStore& s = store;
  ASSERT_TRUE(s.Put("index/i1", AsBytes("x")).ok());
  ASSERT_EQ(::chmod((dir_ + "/repo/index").c_str(), 0500), 0);
  ASSERT_EQ(::chmod((dir_ + "/repo").c_str(), 0711), 0);
  ASSERT_EQ(::chmod(dir_.c_str(), 0711), 0);
  Status put, del, get;
  std::thread([&] {
    if (::geteuid() == 0) ::setfsuid(65534);
    put = s.Put("index/i2", AsBytes("y"));
    del = s.Delete("index/i1");
    get = AsStatus(s.Get("index/i1"));
    if (::geteuid() == 0) ::setfsuid(0);
  }).join();
  EXPECT_EQ(put.code(), ErrorCode::kPermissionDenied) << put.message();
  EXPECT_NE(put.message().find(dir_ + "/repo/index/i2"), std::string::npos) << put.message();
  EXPECT_EQ(del.code(), ErrorCode::kPermissionDenied) << del.message();
  EXPECT_NE(del.message().find("deleting " + dir_ + "/repo/index/i1"), std::string::npos)
      << del.message();
  EXPECT_EQ(get.code(), ErrorCode::kPermissionDenied) << get.message();
  ASSERT_EQ(::chmod((dir_ + "/repo/index").c_str(), 0700), 0);
}

TEST_F(LocalDirStoreTest, ReadOnlyFileSystemIsPermissionDenied) {
  TmpfsMount mnt(dir_ + "/ro", "size=64k,mode=0700");
  if (!mnt.ok()) GTEST_SKIP() << "cannot mount a tmpfs here (" << mnt.why() << ")";
  {
    LocalDirStore rw(dir_ + "/ro");
    ASSERT_TRUE(static_cast<ObjectStore&>(rw).Put("config", AsBytes("c")).ok());
  }
  ASSERT_EQ(::mount(nullptr, (dir_ + "/ro").c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr), 0)
      << std::strerror(errno);
  LocalDirStore store(dir_ + "/ro");
  ObjectStore& s = store;
  Status put = s.Put("index/x", AsBytes("x"));
  EXPECT_EQ(put.code(), ErrorCode::kPermissionDenied) << put.message();
  EXPECT_EQ(ToString(*s.Get("config")), "c") << "reads still work";
}

TEST_F(LocalDirStoreTest, DiskFullIsNoSpaceAndLeavesNothingBehind) {
  const std::string small = dir_ + "/small";
  TmpfsMount mnt(small, "size=256k");
  if (!mnt.ok()) {
    GTEST_SKIP() << "cannot mount a 256 KiB tmpfs to fill up (" << mnt.why()
                 << "); needs root or CAP_SYS_ADMIN";
  }
  LocalDirStore store(small);
  ObjectStore& s = store;
  Bytes big(1 << 20, 7);
  Status st = s.Put("packs/00/big", big);
  EXPECT_EQ(st.code(), ErrorCode::kNoSpace) << st.message();
  EXPECT_NE(st.message().find(small + "/packs/00/big"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("free space"), std::string::npos) << "hint: " << st.message();
  EXPECT_TRUE(Files(small).empty()) << "the failed put left a file behind";
  EXPECT_EQ(s.Head("packs/00/big").error().code(), ErrorCode::kNotFound);
  // The space of the failed Put was given back.
  ASSERT_TRUE(s.Put("packs/00/small", Bytes(100 << 10, 1)).ok());
}

}  // namespace
}  // namespace cairn
