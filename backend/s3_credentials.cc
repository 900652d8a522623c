#include "backend/s3_credentials.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "backend/s3_xml.h"

namespace cairn {

namespace {

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// INI sections of an AWS file: section name -> key -> value.
using Ini = std::map<std::string, std::map<std::string, std::string>>;

Ini ReadIni(const std::string& path) {
  Ini ini;
  std::ifstream in(path);
  std::string line, section;
  while (std::getline(in, line)) {
    std::string t = Trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t.front() == '[' && t.back() == ']') {
      section = Trim(std::string_view(t).substr(1, t.size() - 2));
      continue;
    }
    const size_t eq = t.find('=');
    if (eq == std::string::npos || section.empty()) continue;
    ini[section][Trim(std::string_view(t).substr(0, eq))] = Trim(std::string_view(t).substr(eq + 1));
  }
  return ini;
}

std::string Home(const GetEnvFn& env) {
  auto h = env("HOME");
  return h ? *h : std::string();
}

std::string Value(const std::map<std::string, std::string>& sec, const std::string& k) {
  auto it = sec.find(k);
  return it == sec.end() ? std::string() : it->second;
}

int64_t NowUnix() { return static_cast<int64_t>(::time(nullptr)); }

// Runs cmd with sh -c and returns its standard output.
Result<std::string> RunProcess(const std::string& cmd) {
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) {
    return Err(Status::PermissionDenied("credential_process: cannot start `" + cmd + "`"));
  }
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  const int rc = ::pclose(f);
  if (rc != 0) {
    return Err(Status::PermissionDenied("credential_process `" + cmd + "` failed (exit status " +
                                        std::to_string(WIFEXITED(rc) ? WEXITSTATUS(rc) : rc) +
                                        "); run it by hand to see why"));
  }
  return out;
}

Result<AwsCredentials> FetchImds(HttpClient* http, const std::string& base) {
  auto fail = [&](const std::string& why) {
    return Err(Status::PermissionDenied(
        "no AWS credentials: none in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) "
        "or the AWS profile, and the EC2 instance metadata service at " +
        base + " " + why + "; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or configure a "
        "profile in ~/.aws/credentials"));
  };
  HttpRequest tok{"PUT", base + "/latest/api/token",
                  {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}}, {}};
  HttpResponse t = http->Perform(tok);
  if (t.curl_code != 0) return fail("did not answer (" + t.curl_error + ")");
  if (t.status != 200) return fail("refused a session token (HTTP " + std::to_string(t.status) + ")");
  const std::string token(AsChars(t.body));
  const std::vector<std::pair<std::string, std::string>> h{{"X-aws-ec2-metadata-token", token}};
  const std::string dir = base + "/latest/meta-data/iam/security-credentials/";
  HttpResponse r = http->Perform({"GET", dir, h, {}});
  if (r.curl_code != 0 || r.status != 200) {
    return fail("has no IAM role for this instance (HTTP " + std::to_string(r.status) + ")");
  }
  std::string role = Trim(AsChars(r.body));
  if (const size_t nl = role.find('\n'); nl != std::string::npos) role.resize(nl);
  HttpResponse c = http->Perform({"GET", dir + role, h, {}});
  if (c.curl_code != 0 || c.status != 200) {
    return fail("gave no credentials for role " + role + " (HTTP " + std::to_string(c.status) + ")");
  }
  return ParseCredentialsJson(AsChars(c.body), "instance metadata role " + role);
}

}  // namespace

GetEnvFn ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

AwsProfile LoadAwsProfile(const GetEnvFn& env) {
  AwsProfile p;
  auto prof = env("AWS_PROFILE");
  p.name = prof && !prof->empty() ? *prof : "default";
  auto cred_file = env("AWS_SHARED_CREDENTIALS_FILE");
  auto conf_file = env("AWS_CONFIG_FILE");
  const std::string creds_path = cred_file ? *cred_file : Home(env) + "/.aws/credentials";
  const std::string config_path = conf_file ? *conf_file : Home(env) + "/.aws/config";
  const Ini creds = ReadIni(creds_path);
  const Ini config = ReadIni(config_path);
  std::map<std::string, std::string> cs, fs;
  if (auto it = creds.find(p.name); it != creds.end()) cs = it->second;
  const std::string conf_section = p.name == "default" ? "default" : "profile " + p.name;
  if (auto it = config.find(conf_section); it != config.end()) fs = it->second;
  if (!Value(cs, "aws_access_key_id").empty()) {
    p.access_key_id = Value(cs, "aws_access_key_id");
    p.secret_access_key = Value(cs, "aws_secret_access_key");
    p.session_token = Value(cs, "aws_session_token");
    p.where = "profile " + p.name + " in " + creds_path;
  } else if (!Value(fs, "aws_access_key_id").empty()) {
    p.access_key_id = Value(fs, "aws_access_key_id");
    p.secret_access_key = Value(fs, "aws_secret_access_key");
    p.session_token = Value(fs, "aws_session_token");
    p.where = "profile " + p.name + " in " + config_path;
  }
  p.region = Value(fs, "region");
  if (p.region.empty()) p.region = Value(cs, "region");
  p.credential_process = Value(fs, "credential_process");
  if (p.credential_process.empty()) p.credential_process = Value(cs, "credential_process");
  if (p.where.empty() && !p.credential_process.empty()) {
    p.where = "credential_process of profile " + p.name;
  }
  return p;
}

Result<AwsCredentials> ParseCredentialsJson(std::string_view json, std::string_view source) {
  auto bad = [&](const std::string& why) {
    return Err(Status::PermissionDenied("credentials from " + std::string(source) + ": " + why));
  };
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("output is not a JSON object");
  auto str = [&](const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (j.contains("Version") && !(j["Version"].is_number() && j["Version"].get<int>() == 1)) {
    return bad("unsupported Version (want 1)");
  }
  AwsCredentials c;
  c.access_key_id = str("AccessKeyId");
  c.secret_access_key = str("SecretAccessKey");
  c.session_token = str("SessionToken");
  if (c.session_token.empty()) c.session_token = str("Token");
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    return bad("AccessKeyId or SecretAccessKey missing");
  }
  const std::string exp = str("Expiration");
  if (!exp.empty()) {
    auto t = ParseIso8601(exp);
    if (!t) return bad("Expiration \"" + exp + "\" is not an ISO 8601 time");
    c.expires_unix = *t / 1000000000;
  }
  return c;
}

CredentialProvider::CredentialProvider(std::string source, FetchFn fetch, NowFn now)
    : source_(std::move(source)), fetch_(std::move(fetch)), now_(now ? std::move(now) : NowUnix) {}

Result<AwsCredentials> CredentialProvider::Get() {
  std::lock_guard<std::mutex> lock(mu_);
  if (cached_ && (cached_->expires_unix == 0 ||
                  now_() < cached_->expires_unix - kRefreshBeforeS)) {
    return *cached_;
  }
  auto fresh = fetch_();
  if (!fresh) {
    // Keep using credentials that have not quite expired yet.
    if (cached_ && now_() < cached_->expires_unix) return *cached_;
    return Err(fresh.error());
  }
  cached_ = *fresh;
  return *cached_;
}

Result<std::unique_ptr<CredentialProvider>> ResolveAwsCredentials(const GetEnvFn& env,
                                                                  bool allow_imds) {
  auto id = env("AWS_ACCESS_KEY_ID");
  auto secret = env("AWS_SECRET_ACCESS_KEY");
  if (id && !id->empty()) {
    if (!secret || secret->empty()) {
      return Err(Status::PermissionDenied(
          "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not; set both"));
    }
    AwsCredentials c{*id, *secret, env("AWS_SESSION_TOKEN").value_or(""), 0};
    return std::make_unique<CredentialProvider>("environment", [c] { return Result<AwsCredentials>(c); });
  }
  const AwsProfile p = LoadAwsProfile(env);
  if (!p.access_key_id.empty()) {
    if (p.secret_access_key.empty()) {
      return Err(Status::PermissionDenied(p.where + " has aws_access_key_id but no "
                                          "aws_secret_access_key"));
    }
    AwsCredentials c{p.access_key_id, p.secret_access_key, p.session_token, 0};
    return std::make_unique<CredentialProvider>(p.where, [c] { return Result<AwsCredentials>(c); });
  }
  if (!p.credential_process.empty()) {
    const std::string cmd = p.credential_process;
    return std::make_unique<CredentialProvider>(p.where, [cmd]() -> Result<AwsCredentials> {
      CAIRN_ASSIGN_OR_RETURN(std::string out, RunProcess(cmd));
      return ParseCredentialsJson(out, "credential_process `" + cmd + "`");
    });
  }
  auto disabled = env("AWS_EC2_METADATA_DISABLED");
  if (!allow_imds || (disabled && *disabled == "true")) {
    return Err(Status::PermissionDenied(
        "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or put keys for "
        "profile " + p.name + " in ~/.aws/credentials (AWS_PROFILE picks another profile)"));
  }
  std::string base = env("AWS_EC2_METADATA_SERVICE_ENDPOINT").value_or("http://169.254.169.254");
  while (!base.empty() && base.back() == '/') base.pop_back();
  HttpTimeouts t;
  t.connect_ms = 1000;
  t.low_speed_time_s = 5;
  t.total_ms = 5000;
  auto http = std::make_shared<HttpClient>(1, t);
  return std::make_unique<CredentialProvider>(
      "EC2 instance metadata", [http, base] { return FetchImds(http.get(), base); });
}

}  // namespace cairn
