// The credential chain with temporary files and a fake environment; IMDSv2
// against a tiny HTTP listener on 127.0.0.1 in the test itself.
#include "backend/s3_credentials.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "tests/support/store_conformance.h"

namespace cairn {
namespace {

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("creds");
    vars_["HOME"] = dir_;
    std::filesystem::create_directories(dir_ + "/.aws");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Write(const std::string& rel, const std::string& text) {
    std::ofstream(dir_ + "/" + rel) << text;
  }
  GetEnvFn Env() {
    auto vars = vars_;
    return [vars](const std::string& k) -> std::optional<std::string> {
      auto it = vars.find(k);
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
  }
  Result<AwsCredentials> Resolve(std::string* source = nullptr) {
    auto p = ResolveAwsCredentials(Env(), vars_.count("AWS_EC2_METADATA_SERVICE_ENDPOINT") > 0);
    if (!p) return Err(p.error());
    if (source) *source = (*p)->source();
    return (*p)->Get();
  }

  std::string dir_;
  std::map<std::string, std::string> vars_;
};

TEST_F(CredentialsTest, EnvironmentComesFirst) {
  vars_["AWS_ACCESS_KEY_ID"] = "AKENV";
  vars_["AWS_SECRET_ACCESS_KEY"] = "secret-env";
  vars_["AWS_SESSION_TOKEN"] = "tok";
  Write(".aws/credentials", "[default]\naws_access_key_id = AKFILE\naws_secret_access_key = s\n");
  std::string src;
  auto c = Resolve(&src);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->access_key_id, "AKENV");
  EXPECT_EQ(c->secret_access_key, "secret-env");
  EXPECT_EQ(c->session_token, "tok");
  EXPECT_EQ(src, "environment");
}

TEST_F(CredentialsTest, KeyIdWithoutSecretIsRefusedWithoutEchoingIt) {
  vars_["AWS_ACCESS_KEY_ID"] = "AKENV";
  auto c = Resolve();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(c.error().message().find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
}

TEST_F(CredentialsTest, ProfilesInBothFiles) {
  Write(".aws/credentials",
        "# comment\n[default]\naws_access_key_id = AKDEF\naws_secret_access_key = sdef\n"
        "[work]\naws_access_key_id=AKWORK\naws_secret_access_key=swork\n"
        "aws_session_token = twork\n");
  Write(".aws/config", "[default]\nregion = eu-west-1\n[profile work]\nregion = us-west-2\n"
                       "[profile cfgonly]\naws_access_key_id = AKCFG\naws_secret_access_key = scfg\n");
  auto d = Resolve();
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->access_key_id, "AKDEF");
  EXPECT_EQ(LoadAwsProfile(Env()).region, "eu-west-1");
  vars_["AWS_PROFILE"] = "work";
  std::string src;
  auto w = Resolve(&src);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->access_key_id, "AKWORK");
  EXPECT_EQ(w->session_token, "twork");
  EXPECT_NE(src.find("profile work"), std::string::npos);
  EXPECT_EQ(LoadAwsProfile(Env()).region, "us-west-2");
  vars_["AWS_PROFILE"] = "cfgonly";
  auto cfg = Resolve();
  ASSERT_TRUE(cfg);
  EXPECT_EQ(cfg->access_key_id, "AKCFG");
}

TEST_F(CredentialsTest, FileLocationsFromTheEnvironment) {
  Write("creds", "[default]\naws_access_key_id = AKALT\naws_secret_access_key = salt\n");
  Write("conf", "[default]\nregion = sa-east-1\n");
  vars_["AWS_SHARED_CREDENTIALS_FILE"] = dir_ + "/creds";
  vars_["AWS_CONFIG_FILE"] = dir_ + "/conf";
  auto c = Resolve();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->access_key_id, "AKALT");
  EXPECT_EQ(LoadAwsProfile(Env()).region, "sa-east-1");
}

TEST_F(CredentialsTest, CredentialProcess) {
  Write("proc.sh",
        "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"AKPROC\", \"SecretAccessKey\": "
        "\"sproc\", \"SessionToken\": \"tproc\", \"Expiration\": \"2099-01-01T00:00:00Z\"}'\n");
  Write(".aws/config", "[default]\ncredential_process = sh " + dir_ + "/proc.sh\n");
  auto c = Resolve();
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->access_key_id, "AKPROC");
  EXPECT_EQ(c->session_token, "tproc");
  EXPECT_EQ(c->expires_unix, 4070908800);
}

TEST_F(CredentialsTest, FailingCredentialProcessDoesNotLeakItsOutput) {
  Write(".aws/config", "[default]\ncredential_process = sh -c 'printf %s%s SECRET OUTPUT; exit 3'\n");
  auto c = Resolve();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(c.error().message().find("exit status 3"), std::string::npos) << c.error().message();
  EXPECT_EQ(c.error().message().find("SECRETOUTPUT"), std::string::npos);
}

TEST_F(CredentialsTest, NothingConfiguredSaysWhatToSet) {
  auto c = Resolve();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(c.error().message().find("AWS_ACCESS_KEY_ID"), std::string::npos);
}

TEST(CredentialsJsonTest, ParsesAndRejects) {
  auto ok = ParseCredentialsJson(
      R"({"Code":"Success","AccessKeyId":"A","SecretAccessKey":"S","Token":"T",)"
      R"("Expiration":"2030-05-01T10:00:00Z"})",
      "imds");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->session_token, "T");
  EXPECT_GT(ok->expires_unix, 0);
  EXPECT_FALSE(ParseCredentialsJson("not json", "x"));
  EXPECT_FALSE(ParseCredentialsJson(R"({"AccessKeyId":"A"})", "x"));
  EXPECT_FALSE(ParseCredentialsJson(R"({"Version":2,"AccessKeyId":"A","SecretAccessKey":"S"})", "x"));
  auto bad = ParseCredentialsJson(R"({"AccessKeyId":"A","SecretAccessKey":"TOPSECRET","Expiration":"soon"})", "x");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message().find("TOPSECRET"), std::string::npos);
}

TEST(CredentialProviderTest, RefreshesBeforeExpiry) {
  int64_t now = 1000;
  int fetches = 0;
  CredentialProvider p(
      "test",
      [&]() -> Result<AwsCredentials> {
        ++fetches;
        return AwsCredentials{"A" + std::to_string(fetches), "S", "T", now + 3600};
      },
      [&] { return now; });
  EXPECT_EQ(p.Get()->access_key_id, "A1");
  now += 3000;  // 600 s left: still fine
  EXPECT_EQ(p.Get()->access_key_id, "A1");
  now += 400;  // 200 s left: refresh
  EXPECT_EQ(p.Get()->access_key_id, "A2");
  EXPECT_EQ(fetches, 2);
}

TEST(CredentialProviderTest, KeepsNearlyExpiredCredentialsWhenRefreshFails) {
  int64_t now = 1000;
  bool fail = false;
  CredentialProvider p(
      "test",
      [&]() -> Result<AwsCredentials> {
        if (fail) return Err(Status::PermissionDenied("down"));
        return AwsCredentials{"A", "S", "T", now + 3600};
      },
      [&] { return now; });
  ASSERT_TRUE(p.Get());
  fail = true;
  now += 3500;  // inside the refresh window, not yet expired
  EXPECT_TRUE(p.Get());
  now += 200;  // expired
  EXPECT_FALSE(p.Get());
}

// A one-request-per-connection HTTP server answering IMDSv2's three calls.
class FakeImds {
 public:
  FakeImds() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    socklen_t len = sizeof(a);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(fd_, 8);
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeImds() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string Endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> requests;  // "METHOD path token-header-present"

 private:
  void Serve() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string req;
      char buf[4096];
      while (req.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(c, buf, sizeof(buf));
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
      }
      const std::string line = req.substr(0, req.find("\r\n"));
      const bool has_token = req.find("X-aws-ec2-metadata-token: tok-1") != std::string::npos ||
                             req.find("x-aws-ec2-metadata-token: tok-1") != std::string::npos;
      std::string body;
      int status = 200;
      if (line.starts_with("PUT /latest/api/token")) {
        body = "tok-1";
      } else if (!has_token) {
        status = 401;
      } else if (line.starts_with("GET /latest/meta-data/iam/security-credentials/ ")) {
        body = "backup-role\n";
      } else if (line.starts_with("GET /latest/meta-data/iam/security-credentials/backup-role ")) {
        body = R"({"Code":"Success","AccessKeyId":"ASIAIMDS","SecretAccessKey":"simds",)"
               R"("Token":"timds","Expiration":"2099-01-01T00:00:00Z"})";
      } else {
        status = 404;
      }
      requests.push_back(line + (has_token ? " +token" : ""));
      const std::string resp = "HTTP/1.1 " + std::to_string(status) +
                               " X\r\nConnection: close\r\nContent-Length: " +
                               std::to_string(body.size()) + "\r\n\r\n" + body;
      (void)!::write(c, resp.data(), resp.size());
      ::close(c);
    }
  }
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST_F(CredentialsTest, InstanceMetadataV2) {
  FakeImds imds;
  vars_["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = imds.Endpoint();
  std::string src;
  auto c = Resolve(&src);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(src, "EC2 instance metadata");
  EXPECT_EQ(c->access_key_id, "ASIAIMDS");
  EXPECT_EQ(c->session_token, "timds");
  ASSERT_EQ(imds.requests.size(), 3u);
  EXPECT_TRUE(imds.requests[0].starts_with("PUT /latest/api/token"));
  EXPECT_NE(imds.requests[1].find("+token"), std::string::npos);
  EXPECT_NE(imds.requests[2].find("backup-role"), std::string::npos);
}

TEST_F(CredentialsTest, InstanceMetadataUnreachableFailsFastAndClearly) {
  vars_["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = "http://127.0.0.1:1";
  auto c = Resolve();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(c.error().message().find("instance metadata"), std::string::npos);
}

}  // namespace
}  // namespace cairn
