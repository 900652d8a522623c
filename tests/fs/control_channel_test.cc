// ControlServer / ControlRequest: one line each way over an abstract Unix
// socket; handler errors come back with their code; a missing daemon is
// NotFound; a long command neither times the client out nor blocks others.
#include "fs/control_channel.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <thread>

namespace cairn {
namespace {

std::string TestName(const std::string& what) {
  return "cairn-test-" + what + "-" + std::to_string(getpid());
}

TEST(ControlChannelTest, RequestsReachTheHandlerAndRepliesComeBack) {
  NullLogger log;
  std::atomic<int> refreshes{0};
  const std::string name = TestName("basic");
  auto server = ControlServer::Start(
      name,
      [&](const std::string& cmd) -> Result<std::string> {
        if (cmd == "refresh") return "refreshed " + std::to_string(++refreshes);
        return Err(Status::InvalidArgument("unknown command \"" + cmd + "\""));
      },
      log);
  ASSERT_TRUE(server) << server.error().message();
  auto r = ControlRequest(name, "refresh");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, "refreshed 1");
  EXPECT_EQ(*ControlRequest(name, "refresh"), "refreshed 2");
  auto bad = ControlRequest(name, "explode");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("unknown command \"explode\""), std::string::npos)
      << bad.error().message();
  // A second server cannot take the same name while the first has it.
  auto dup = ControlServer::Start(name, [](const std::string&) -> Result<std::string> {
    return std::string();
  }, log);
  EXPECT_FALSE(dup);
  server->reset();
  auto gone = ControlRequest(name, "refresh");
  ASSERT_FALSE(gone);
  EXPECT_TRUE(gone.error().Is(ErrorCode::kNotFound)) << gone.error().message();
}

TEST(ControlChannelTest, ErrorRepliesKeepTheirCode) {
  NullLogger log;
  const std::string name = TestName("codes");
  auto server = ControlServer::Start(
      name,
      [&](const std::string& cmd) -> Result<std::string> {
        const auto code = static_cast<ErrorCode>(std::stoi(cmd));
        return Err(Status(code, "failed with\nline two"));
      },
      log);
  ASSERT_TRUE(server) << server.error().message();
  for (unsigned i = 1; i < kErrorCodeCount; ++i) {
    auto r = ControlRequest(name, std::to_string(i));
    ASSERT_FALSE(r);
    EXPECT_EQ(static_cast<unsigned>(r.error().code()), i) << r.error().message();
    EXPECT_EQ(r.error().message(), "mount daemon: failed with line two");
  }
}

TEST(ControlChannelTest, EveryCodeHasAWireNameThatReadsBack) {
  for (unsigned i = 1; i < kErrorCodeCount; ++i) {
    const auto code = static_cast<ErrorCode>(i);
    EXPECT_EQ(ErrorCodeFromName(ErrorCodeName(code)), code) << i;
  }
  EXPECT_EQ(ErrorCodeFromName("Ok"), std::nullopt);
  EXPECT_EQ(ErrorCodeFromName("unknown"), std::nullopt);
  EXPECT_EQ(ErrorCodeFromName(""), std::nullopt);
}

// A raw listener answering every connection with one fixed reply: a daemon
// older than this client, or one that never answers (reply empty).
class FakeDaemon {
 public:
  FakeDaemon(const std::string& name, std::string reply) : reply_(std::move(reply)) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path + 1, name.data(), name.size());
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    ok_ = bind(fd_, reinterpret_cast<sockaddr*>(&a), len) == 0 && listen(fd_, 4) == 0;
    thread_ = std::thread([this] {
      for (;;) {
        int c = accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        char buf[256];
        (void)!read(c, buf, sizeof(buf));
        if (reply_.empty()) {
          held_.push_back(c);  // keeps the connection open, silent
          continue;
        }
        (void)!write(c, reply_.data(), reply_.size());
        close(c);
      }
    });
  }
  ~FakeDaemon() {
    shutdown(fd_, SHUT_RDWR);
    thread_.join();
    close(fd_);
    for (int c : held_) close(c);
  }
  bool ok() const { return ok_; }

 private:
  std::string reply_;
  int fd_ = -1;
  bool ok_ = false;
  std::vector<int> held_;
  std::thread thread_;
};

TEST(ControlChannelTest, RepliesOfAnOlderDaemonStillRead) {
  const std::string name = TestName("old");
  {
    FakeDaemon old(name, "error unknown command \"seal\"\n");
    ASSERT_TRUE(old.ok());
    auto r = ControlRequest(name, "seal {}");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), ErrorCode::kIOError);
    EXPECT_EQ(r.error().message(), "mount daemon: unknown command \"seal\"");
  }
  {
    FakeDaemon old(name, "ok refreshed\n");
    ASSERT_TRUE(old.ok());
    EXPECT_EQ(*ControlRequest(name, "refresh"), "refreshed");
  }
  {
    FakeDaemon old(name, "ok\n");
    ASSERT_TRUE(old.ok());
    EXPECT_EQ(*ControlRequest(name, "refresh"), "");
  }
}

TEST(ControlChannelTest, ASilentDaemonTimesOutOrIsCancelled) {
  const std::string name = TestName("silent");
  FakeDaemon silent(name, "");
  ASSERT_TRUE(silent.ok());
  ControlRequestOptions o;
  o.timeout_ms = 300;
  auto r = ControlRequest(name, "status", o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kIOError);
  EXPECT_NE(r.error().message().find("did not answer"), std::string::npos)
      << r.error().message();
  // No timeout: only the cancel flag ends the wait.
  std::atomic<bool> cancel{false};
  ControlRequestOptions forever;
  forever.timeout_ms = -1;
  forever.cancel = &cancel;
  auto waiting = std::async(std::launch::async, [&] { return ControlRequest(name, "seal {}", forever); });
  EXPECT_EQ(waiting.wait_for(std::chrono::milliseconds(500)), std::future_status::timeout);
  cancel.store(true);
  auto c = waiting.get();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), ErrorCode::kCancelled);
}

TEST(ControlChannelTest, ALongCommandDoesNotBlockOthersAndItsLongReplyArrives) {
  NullLogger log;
  const std::string name = TestName("long");
  std::atomic<bool> release{false};
  std::atomic<bool> sealing{false};
  auto server = ControlServer::Start(
      name,
      [&](const std::string& cmd) -> Result<std::string> {
        if (cmd == "seal") {
          sealing.store(true);
          while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
          return std::string(1 << 20, 'x');  // far over the old 4 KiB line limit
        }
        return std::string(sealing.load() ? "sealing" : "idle");
      },
      log);
  ASSERT_TRUE(server) << server.error().message();
  ControlRequestOptions forever;
  forever.timeout_ms = -1;
  auto seal = std::async(std::launch::async, [&] { return ControlRequest(name, "seal", forever); });
  while (!sealing.load()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto status = ControlRequest(name, "head-status");
  ASSERT_TRUE(status) << status.error().message();
  EXPECT_EQ(*status, "sealing");
  release.store(true);
  auto r = seal.get();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->size(), size_t{1} << 20);
}

TEST(ControlChannelTest, TheServerWaitsForRunningCommandsWhenDestroyed) {
  NullLogger log;
  const std::string name = TestName("stop");
  std::atomic<bool> started{false}, finished{false};
  auto server = ControlServer::Start(
      name,
      [&](const std::string&) -> Result<std::string> {
        started.store(true);
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        finished.store(true);
        return std::string("done");
      },
      log);
  ASSERT_TRUE(server) << server.error().message();
  auto req = std::async(std::launch::async, [&] { return ControlRequest(name, "seal"); });
  while (!started.load()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  server->reset();
  EXPECT_TRUE(finished.load());
  auto r = req.get();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, "done");
}

}  // namespace
}  // namespace cairn
