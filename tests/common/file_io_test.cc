// Fd and the read/write-fully helpers: ownership, EINTR and short
// transfers retried, end of file, errno mapped to the right code with the
// path in the message.
#include "common/file_io.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <thread>

namespace cairn {
namespace {

class FileIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cairn-fileio-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

bool IsOpen(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

TEST_F(FileIoTest, FdClosesOnceAndMoves) {
  int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(raw, 0);
  {
    Fd a(raw);
    Fd b(std::move(a));
    EXPECT_FALSE(a.valid());
    EXPECT_EQ(b.get(), raw);
    Fd c;
    c = std::move(b);
    EXPECT_TRUE(IsOpen(raw));
  }
  EXPECT_FALSE(IsOpen(raw));
  Fd d(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  EXPECT_EQ(d.Close(), 0);
  EXPECT_EQ(d.Close(), 0);  // nothing left to close
  Fd e(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  int kept = e.Release();
  EXPECT_FALSE(e.valid());
  EXPECT_TRUE(IsOpen(kept));
  ::close(kept);
}

TEST_F(FileIoTest, TransferFullyRetriesEintrAndShortSteps) {
  std::vector<size_t> asked;
  int calls = 0;
  size_t moved = 0;
  int err = TransferFully(10, &moved, [&](size_t done) -> ssize_t {
    asked.push_back(done);
    if (++calls == 2) {
      errno = EINTR;
      return -1;
    }
    return static_cast<ssize_t>(std::min<size_t>(3, 10 - done));  // short every time
  });
  EXPECT_EQ(err, 0);
  EXPECT_EQ(moved, 10u);
  EXPECT_EQ(asked, (std::vector<size_t>{0, 3, 3, 6, 9}));

  err = TransferFully(10, &moved, [&](size_t done) -> ssize_t {
    if (done >= 4) {
      errno = EIO;
      return -1;
    }
    return 4;
  });
  EXPECT_EQ(err, EIO);
  EXPECT_EQ(moved, 4u);  // what was moved before the failure
}

TEST_F(FileIoTest, ReadsStopOnlyAtEndOfFile) {
  const std::string path = dir_ + "/f";
  Fd w(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  const std::string data = "0123456789";
  ASSERT_TRUE(PWriteFully(w.get(), data.data(), data.size(), 0, path).ok());
  Fd r(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  char buf[32];
  auto got = PReadFully(r.get(), buf, sizeof(buf), 4, path);
  ASSERT_TRUE(got);
  EXPECT_EQ(std::string(buf, *got), "456789");
  got = PReadFully(r.get(), buf, 4, 100, path);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, 0u);
}

TEST_F(FileIoTest, PipeDeliversInPiecesAndReadFullyJoinsThem) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  Fd rd(p[0]), wr(p[1]);
  std::string data(1 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 131);
  std::thread writer([&] {
    // A pipe holds 64 KiB: the reader sees many short reads.
    EXPECT_TRUE(WriteFully(wr.get(), data.data(), data.size(), "pipe").ok());
    (void)wr.Close();
  });
  std::string got(data.size() + 10, '\0');
  auto n = ReadFully(rd.get(), got.data(), got.size(), "pipe");
  writer.join();
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_EQ(*n, data.size());
  got.resize(*n);
  EXPECT_TRUE(got == data);
}

TEST_F(FileIoTest, ErrorsNameThePathAndMapErrno) {
  Fd full(::open("/dev/full", O_WRONLY | O_CLOEXEC));
  ASSERT_TRUE(full.valid());
  Status s = WriteFully(full.get(), "x", 1, "/dev/full");
  EXPECT_EQ(s.code(), ErrorCode::kNoSpace);
  EXPECT_NE(s.message().find("writing /dev/full"), std::string::npos) << s.message();

  Fd ro(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  s = PWriteFully(ro.get(), "x", 1, 0, "the-null");
  EXPECT_EQ(s.code(), ErrorCode::kIOError);  // EBADF
  EXPECT_NE(s.message().find("writing the-null"), std::string::npos) << s.message();

  char c;
  auto r = ReadFully(-1, &c, 1, "nothing");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("reading nothing"), std::string::npos);
}

}  // namespace
}  // namespace cairn
