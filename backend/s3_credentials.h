// AWS credentials in the AWS CLI's order:
//  1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN;
//  2. the profile AWS_PROFILE (default "default"): aws_access_key_id /
//     aws_secret_access_key / aws_session_token in the shared credentials
//     file (AWS_SHARED_CREDENTIALS_FILE, default ~/.aws/credentials), then in
//     the config file (AWS_CONFIG_FILE, default ~/.aws/config, section
//     "[profile NAME]" or "[default]"); then the profile's credential_process
//     (its JSON output, Version 1, refreshed before Expiration);
//  3. EC2 instance metadata, IMDSv2 (token PUT, role name, role credentials;
//     AWS_EC2_METADATA_SERVICE_ENDPOINT overrides http://169.254.169.254,
//     AWS_EC2_METADATA_DISABLED=true skips it), refreshed before expiry.
// Secrets never appear in any Status message or log line this file makes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "backend/http_client.h"
#include "backend/sigv4.h"
#include "common/status.h"

namespace cairn {

// Environment lookup; tests pass a map instead of the process environment.
using GetEnvFn = std::function<std::optional<std::string>(const std::string& name)>;
GetEnvFn ProcessEnv();

// What a profile says (either file), for credentials and for region.
struct AwsProfile {
  std::string name;
  std::string region;
  std::string access_key_id, secret_access_key, session_token;
  std::string credential_process;
  std::string where;  // "profile default in /home/u/.aws/credentials" for messages
};
// Reads the profile AWS_PROFILE (or "default") from both files. A missing
// file or section is an empty profile, not an error.
AwsProfile LoadAwsProfile(const GetEnvFn& env);

// Parses credential_process / IMDS JSON ({"AccessKeyId", "SecretAccessKey",
// "SessionToken" or "Token", "Expiration"}); source names it in errors.
Result<AwsCredentials> ParseCredentialsJson(std::string_view json, std::string_view source);

// Hands out current credentials, refreshing expiring ones (less than five
// minutes left) under a mutex. Thread-safe.
class CredentialProvider {
 public:
  using FetchFn = std::function<Result<AwsCredentials>()>;
  using NowFn = std::function<int64_t()>;  // Unix seconds
  CredentialProvider(std::string source, FetchFn fetch, NowFn now = {});

  Result<AwsCredentials> Get();
  // Where the credentials come from, e.g. "environment", for messages.
  const std::string& source() const { return source_; }

  static constexpr int64_t kRefreshBeforeS = 300;

 private:
  const std::string source_;
  FetchFn fetch_;
  NowFn now_;
  std::mutex mu_;
  std::optional<AwsCredentials> cached_;  // GUARDED_BY(mu_)
};

// Builds the provider for the first source in the chain that has
// credentials; with allow_imds false the chain ends before instance
// metadata. The IMDS client it makes has a 1 s connect timeout, so off EC2
// the chain fails fast.
Result<std::unique_ptr<CredentialProvider>> ResolveAwsCredentials(const GetEnvFn& env,
                                                                  bool allow_imds = true);

}  // namespace cairn
