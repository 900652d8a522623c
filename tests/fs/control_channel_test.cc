// ControlServer / ControlRequest: one line each way over an abstract Unix
// socket; handler errors come back as errors; a missing daemon is NotFound.
#include "fs/control_channel.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>

namespace cairn {
namespace {

TEST(ControlChannelTest, RequestsReachTheHandlerAndRepliesComeBack) {
  NullLogger log;
  std::atomic<int> refreshes{0};
  const std::string name = "cairn-test-" + std::to_string(getpid());
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

}  // namespace
}  // namespace cairn
