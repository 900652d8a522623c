// S3Store against a real S3 server (radosgw in the test suite). The server's
// endpoint and keys come from the file named by CAIRN_TEST_S3_ENV (lines of
// `export NAME=value ...`, written by tests/s3/rgw.sh); ctest's `radosgw`
// fixture starts the server. Without that variable every test FAILS: a
// silently skipped S3 suite is how S3 bugs ship.
#include "backend/s3_store.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <set>
#include <thread>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>

#include "backend/open_store.h"
#include "common/hex.h"
#include "tests/support/store_conformance.h"
#include "tests/support/test_data.h"

namespace cairn {
namespace {

// Values from the env file; empty map (and a test failure) when missing.
const std::map<std::string, std::string>& TestEnv() {
  static const std::map<std::string, std::string> env = [] {
    std::map<std::string, std::string> m;
    const char* path = std::getenv("CAIRN_TEST_S3_ENV");
    if (path == nullptr) return m;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream words(line);
      std::string w;
      while (words >> w) {
        if (w == "export") continue;
        const size_t eq = w.find('=');
        if (eq == std::string::npos) continue;
        std::string v = w.substr(eq + 1);
        if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) {
          v = v.substr(1, v.size() - 2);
        }
        m[w.substr(0, eq)] = v;
      }
    }
    return m;
  }();
  return env;
}

std::string Var(const std::string& k) {
  auto it = TestEnv().find(k);
  return it == TestEnv().end() ? std::string() : it->second;
}

bool HaveServer() {
  if (std::getenv("CAIRN_TEST_S3_ENV") == nullptr) {
    ADD_FAILURE() << "CAIRN_TEST_S3_ENV is not set: run these tests through ctest (the radosgw "
                     "fixture starts the server) or `source` the env file of "
                     "`tests/s3/rgw.sh start DIR` and set CAIRN_TEST_S3_ENV=DIR/env";
    return false;
  }
  if (Var("CAIRN_TEST_S3_ENDPOINT").empty() || Var("AWS_ACCESS_KEY_ID").empty()) {
    ADD_FAILURE() << "the file CAIRN_TEST_S3_ENV names lacks CAIRN_TEST_S3_ENDPOINT or keys";
    return false;
  }
  return true;
}

std::string RandomName(const char* tag) {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard<std::mutex> lock(mu);
  uint8_t b[6];
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return std::string(tag) + ToHex(ByteView(b, sizeof(b)));
}

const std::string& TestBucket() {
  static const std::string b = RandomName("cairn-test-");
  return b;
}

struct Made {
  std::unique_ptr<S3Store> store;
  std::string prefix;
};

Made MakeStore(S3StoreOptions opts = {}, std::string secret = "", std::string endpoint = "",
               std::string bucket = "") {
  Made m;
  m.prefix = RandomName("t");
  if (bucket.empty()) bucket = TestBucket();
  if (endpoint.empty()) endpoint = Var("CAIRN_TEST_S3_ENDPOINT");
  auto env = [](const std::string& k) -> std::optional<std::string> {
    if (k == "HOME") return std::string("/nonexistent");
    return std::nullopt;
  };
  auto loc = ParseS3Location("s3://" + bucket + "/" + m.prefix, endpoint,
                             Var("AWS_REGION").empty() ? "us-east-1" : Var("AWS_REGION"), env);
  EXPECT_TRUE(loc) << loc.error().message();
  if (!loc) return m;
  AwsCredentials c{Var("AWS_ACCESS_KEY_ID"),
                   secret.empty() ? Var("AWS_SECRET_ACCESS_KEY") : secret, "", 0};
  auto creds = std::make_unique<CredentialProvider>(
      "test", [c] { return Result<AwsCredentials>(c); });
  // The whole suite runs with the strict request checks (rgw.sh's env file
  // sets CAIRN_S3_STRICT=1): radosgw accepts what AWS refuses.
  opts.strict = Var("CAIRN_S3_STRICT") == "1";
  m.store = std::make_unique<S3Store>(*loc, std::move(creds), std::move(opts));
  return m;
}

// Deletes everything under its prefix when the test ends.
class PrefixOwningStore final : public ForwardingStore {
 public:
  explicit PrefixOwningStore(std::unique_ptr<S3Store> s)
      : ForwardingStore(std::move(s)), s3_(static_cast<S3Store&>(target())) {}
  ~PrefixOwningStore() override {
    std::vector<std::string> keys;
    (void)s3_.List("", [&](const ObjectInfo& o) {
      keys.push_back(o.key);
      return Status::OK();
    });
    EXPECT_TRUE(s3_.DeleteMany(keys).ok());
  }

 private:
  S3Store& s3_;  // target()
};

std::unique_ptr<ObjectStore> ConformanceStore() {
  if (!HaveServer()) return nullptr;
  Made m = MakeStore();
  if (!m.store) return nullptr;
  EXPECT_TRUE(m.store->EnsureBucket().ok());
  return std::make_unique<PrefixOwningStore>(std::move(m.store));
}

INSTANTIATE_TEST_SUITE_P(S3, StoreConformanceTest,
                         ::testing::Values(StoreFactory{"radosgw", ConformanceStore}),
                         StoreFactoryName());

class S3StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(HaveServer());
    Made m = MakeStore();
    ASSERT_TRUE(m.store);
    ASSERT_TRUE(m.store->EnsureBucket().ok());
  }
};

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

TEST_F(S3StoreTest, MultipartUploadInParallelWithContentMd5OnEveryPart) {
  std::mutex mu;
  std::map<std::string, int> ops;  // "PUT partNumber" etc.
  int parts_with_md5 = 0;
  S3StoreOptions o;
  o.multipart_threshold = 8 << 20;
  o.part_size = 5 << 20;
  o.before_sign = [&](SigV4Request& r) {
    std::lock_guard<std::mutex> lock(mu);
    bool part = false;
    for (const auto& [k, v] : r.query) part = part || k == "partNumber";
    if (part) {
      ++ops["UploadPart"];
      for (const auto& [k, v] : r.headers) parts_with_md5 += k == "content-md5" && !v.empty();
    }
    for (const auto& [k, v] : r.query) {
      if (k == "uploads") ++ops["Create"];
      if (k == "uploadId" && r.method == "POST") ++ops["Complete"];
    }
  };
  Made m = MakeStore(o);
  PrefixOwningStore s(std::move(m.store));
  const Bytes big = test::RandomBytes((23 << 20) + 12345, 9);  // 5 parts, the last one short
  ASSERT_TRUE(s.Put("packs/big", big).ok());
  EXPECT_EQ(ops["Create"], 1);
  EXPECT_EQ(ops["UploadPart"], 5);
  EXPECT_EQ(parts_with_md5, 5);
  EXPECT_EQ(ops["Complete"], 1);
  auto got = s.Get("packs/big");
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_TRUE(*got == big);
  // A range across the first part boundary.
  auto r = s.Get("packs/big", (5 << 20) - 10, 20);
  ASSERT_TRUE(r);
  EXPECT_TRUE(std::equal(r->begin(), r->end(), big.begin() + (5 << 20) - 10));
  EXPECT_EQ(s.Head("packs/big")->size, big.size());
  // if_not_exists holds for multipart objects too.
  PutOptions once;
  once.if_not_exists = true;
  EXPECT_EQ(s.Put("packs/big", big, once).code(), ErrorCode::kAlreadyExists);
}

TEST_F(S3StoreTest, ContentMd5IsSentAndTheServerChecksIt) {
  std::string sent_md5;
  S3StoreOptions watch;
  watch.before_sign = [&](SigV4Request& r) {
    for (const auto& [k, v] : r.headers) {
      if (r.method == "PUT" && k == "content-md5") sent_md5 = v;
    }
  };
  Made w = MakeStore(watch);
  PrefixOwningStore ws(std::move(w.store));
  ASSERT_TRUE(ws.Put("config", AsBytes("hello")).ok());
  EXPECT_EQ(sent_md5, ContentMd5(AsBytes("hello")));

  S3StoreOptions corrupt;
  corrupt.before_sign = [&](SigV4Request& r) {
    for (auto& [k, v] : r.headers) {
      if (k == "content-md5") v = ContentMd5(AsBytes("something else"));
    }
  };
  Made c = MakeStore(corrupt);
  PrefixOwningStore cs(std::move(c.store));
  Status s = cs.Put("config", AsBytes("hello"));
  EXPECT_EQ(s.code(), ErrorCode::kTransient) << s.message();
  EXPECT_NE(s.message().find("BadDigest"), std::string::npos) << s.message();
  EXPECT_EQ(cs.Head("config").error().code(), ErrorCode::kNotFound);
}

TEST_F(S3StoreTest, WrongSecretIsPermissionDeniedAtOnce) {
  Made m = MakeStore({}, "this-is-not-the-secret");
  const auto start = std::chrono::steady_clock::now();
  auto h = m.store->Head("config");
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().code(), ErrorCode::kPermissionDenied) << h.error().message();
  auto g = m.store->Get("config");
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(g.error().message().find("SignatureDoesNotMatch"), std::string::npos)
      << g.error().message();
  EXPECT_NE(g.error().message().find("secret key"), std::string::npos);
  EXPECT_EQ(g.error().message().find("this-is-not-the-secret"), std::string::npos);
  EXPECT_LT(Seconds(start), 5.0);
}

TEST_F(S3StoreTest, UnreachableEndpointIsTransientWithinTheTimeout) {
  S3StoreOptions o;
  o.timeouts.connect_ms = 1000;
  Made m = MakeStore(o, "", "http://127.0.0.1:1");
  const auto start = std::chrono::steady_clock::now();
  auto h = m.store->Head("config");
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().code(), ErrorCode::kTransient) << h.error().message();
  EXPECT_LT(Seconds(start), 3.0);
}

TEST_F(S3StoreTest, StalledServerBecomesTransientNotAHang) {
  // A listening socket nobody accepts from: connect succeeds, no reply ever.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::listen(fd, 4);
  S3StoreOptions o;
  o.timeouts.low_speed_time_s = 2;
  Made m = MakeStore(o, "", "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)));
  const auto start = std::chrono::steady_clock::now();
  auto g = m.store->Get("config");
  ::close(fd);
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().code(), ErrorCode::kTransient) << g.error().message();
  EXPECT_LT(Seconds(start), 6.0);
}

TEST_F(S3StoreTest, EnsureBucketCreatesAMissingBucketOnce) {
  const std::string bucket = RandomName("cairn-new-");
  Made m = MakeStore({}, "", "", bucket);
  auto before = m.store->Head("config");
  ASSERT_FALSE(before);
  EXPECT_EQ(before.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(before.error().message().find("s3://" + bucket), std::string::npos);
  ASSERT_TRUE(m.store->EnsureBucket().ok());
  ASSERT_TRUE(m.store->EnsureBucket().ok());  // idempotent
  ASSERT_TRUE(m.store->Put("config", AsBytes("x")).ok());
  EXPECT_EQ(m.store->Head("config")->size, 1u);
  ASSERT_TRUE(m.store->Delete("config").ok());
}

TEST_F(S3StoreTest, ObjectLockRetentionOnSingleAndMultipartPuts) {
  S3StoreOptions o;
  o.multipart_threshold = 6 << 20;
  o.part_size = 5 << 20;
  o.locked_single_put_limit = 0;  // the multipart path, which locks after Complete
  Made m = MakeStore(o, "", "", RandomName("cairn-lock-"));
  ASSERT_TRUE(m.store->EnsureBucket(/*object_lock=*/true).ok());
  const int64_t until = int64_t{1798761600} * 1000000000;  // 2027-01-01T00:00:00Z
  PutOptions lock;
  lock.lock_mode = LockMode::kGovernance;
  lock.retain_until_ns = until;
  ASSERT_TRUE(m.store->Put("snapshots/a", AsBytes("locked"), lock).ok());
  auto r = m.store->GetRetention("snapshots/a");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r / 1000000000, until / 1000000000);
  // radosgw ignores lock headers on CreateMultipartUpload: S3Store sets the
  // retention after CompleteMultipartUpload.
  const Bytes big = test::RandomBytes(7 << 20, 5);
  ASSERT_TRUE(m.store->Put("packs/big", big, lock).ok());
  auto rb = m.store->GetRetention("packs/big");
  ASSERT_TRUE(rb) << rb.error().message();
  EXPECT_EQ(*rb / 1000000000, until / 1000000000);
  // Extending is allowed.
  ASSERT_TRUE(m.store->SetRetention("snapshots/a", LockMode::kGovernance, until + 86400000000000).ok());
  EXPECT_EQ(*m.store->GetRetention("snapshots/a") / 1000000000, until / 1000000000 + 86400);
  // An object without retention reads as 0.
  ASSERT_TRUE(m.store->Put("config", AsBytes("c")).ok());
  auto none = m.store->GetRetention("config");
  ASSERT_TRUE(none) << none.error().message();
  EXPECT_EQ(*none, 0);
}

TEST_F(S3StoreTest, LockedObjectsGoUpAsOnePutAndLockConfigIsRead) {
  std::mutex mu;
  std::vector<std::string> sent;  // "METHOD query-names lock-date"
  S3StoreOptions o;
  o.multipart_threshold = 6 << 20;
  o.part_size = 5 << 20;
  o.before_sign = [&](SigV4Request& r) {
    std::string line = r.method;
    for (const auto& [k, v] : r.query) line += " " + k;
    for (const auto& [k, v] : r.headers) {
      if (k == "x-amz-object-lock-retain-until-date") line += " " + v;
    }
    std::lock_guard<std::mutex> lock(mu);
    sent.push_back(line);
  };
  Made m = MakeStore(o, "", "", RandomName("cairn-lock1-"));
  ASSERT_TRUE(m.store->EnsureBucket(/*object_lock=*/true).ok());
  auto cfg = m.store->GetObjectLockConfig();
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_TRUE(cfg->enabled);
  EXPECT_EQ(cfg->default_mode, LockMode::kNone);

  // 1 ns past a second: the date sent is rounded up to the next second.
  const int64_t until = int64_t{1798761600} * 1000000000 + 1;
  PutOptions lock;
  lock.lock_mode = LockMode::kCompliance;
  lock.retain_until_ns = until;
  const Bytes big = test::RandomBytes(7 << 20, 6);  // over multipart_threshold
  {
    std::lock_guard<std::mutex> l(mu);
    sent.clear();
  }
  ASSERT_TRUE(m.store->Put("packs/big", big, lock).ok());
  {
    std::lock_guard<std::mutex> l(mu);
    ASSERT_EQ(sent.size(), 1u) << "one PutObject, no multipart: " << sent.size();
    EXPECT_EQ(sent[0], "PUT 2027-01-01T00:00:01Z");
  }
  auto r = m.store->GetRetention("packs/big");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r / 1000000000, until / 1000000000 + 1);

  // A bucket without object lock says so.
  Made plain = MakeStore({}, "", "", RandomName("cairn-nolock-"));
  ASSERT_TRUE(plain.store->EnsureBucket().ok());
  auto none = plain.store->GetObjectLockConfig();
  ASSERT_TRUE(none) << none.error().message();
  EXPECT_FALSE(none->enabled);
}

TEST_F(S3StoreTest, WriteOnceOnAVersionedBucketSeesDeletedVersions) {
  Made m = MakeStore({}, "", "", RandomName("cairn-ver-"));
  ASSERT_TRUE(m.store->EnsureBucket(/*object_lock=*/true).ok());  // versioned
  PutOptions once;
  once.if_not_exists = true;
  ASSERT_TRUE(m.store->Put("config", AsBytes("first"), once).ok());
  EXPECT_EQ(m.store->Put("config", AsBytes("second"), once).code(), ErrorCode::kAlreadyExists);
  // Deleted (a delete marker on a versioned bucket): a HEAD says 404, but
  // the old version is still there, and write-once still refuses.
  ASSERT_TRUE(m.store->Delete("config").ok());
  EXPECT_EQ(m.store->Head("config").error().code(), ErrorCode::kNotFound);
  Status again = m.store->Put("config", AsBytes("third"), once);
  EXPECT_EQ(again.code(), ErrorCode::kAlreadyExists) << again.message();
  EXPECT_NE(again.message().find("deleted"), std::string::npos) << again.message();
  // A key that only shares the prefix is not confused with it.
  EXPECT_TRUE(m.store->Put("conf", AsBytes("x"), once).ok());
  EXPECT_TRUE(m.store->Put("config2", AsBytes("x"), once).ok());
}

TEST_F(S3StoreTest, ListingPaginatesAndDeleteManyBatches) {
  Made m = MakeStore();
  S3Store* raw = m.store.get();
  PrefixOwningStore s(std::move(m.store));
  std::vector<std::string> keys;
  for (int i = 0; i < 1010; ++i) keys.push_back("index/" + std::to_string(100000 + i));
  std::vector<std::thread> th;
  std::atomic<int> bad{0};
  for (int t = 0; t < 8; ++t) {
    th.emplace_back([&, t] {
      for (size_t i = t; i < keys.size(); i += 8) bad += !s.Put(keys[i], AsBytes("k")).ok();
    });
  }
  for (auto& x : th) x.join();
  ASSERT_EQ(bad.load(), 0);
  std::set<std::string> seen;
  ASSERT_TRUE(s.List("index/", [&](const ObjectInfo& o) {
                 seen.insert(o.key);
                 return Status::OK();
               }).ok());
  EXPECT_EQ(seen.size(), keys.size());
  EXPECT_TRUE(seen.count("index/100000"));
  ASSERT_TRUE(raw->DeleteMany(keys).ok());
  int left = 0;
  ASSERT_TRUE(s.List("", [&](const ObjectInfo&) {
                 ++left;
                 return Status::OK();
               }).ok());
  EXPECT_EQ(left, 0);
}

TEST_F(S3StoreTest, OpenStoreBuildsS3StoreFromTheUrl) {
  setenv("AWS_ACCESS_KEY_ID", Var("AWS_ACCESS_KEY_ID").c_str(), 1);
  setenv("AWS_SECRET_ACCESS_KEY", Var("AWS_SECRET_ACCESS_KEY").c_str(), 1);
  StoreOptions so;
  so.create_bucket = true;
  const std::string bucket = RandomName("cairn-open-");
  auto s = OpenStore("s3://" + bucket + "/repo?endpoint=" + Var("CAIRN_TEST_S3_ENDPOINT") +
                         "&region=us-east-1",
                     so);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ((*s)->Describe(), "s3://" + bucket + "/repo");
  // Through the retrying wrapper: a remote store with the S3 features.
  const StoreTraits t = (*s)->Traits();
  EXPECT_TRUE(t.remote());
  EXPECT_EQ(t.connections, static_cast<unsigned>(so.connections));
  EXPECT_TRUE(t.object_lock && t.storage_classes && t.archive_restore);
  ASSERT_TRUE((*s)->Put("config", AsBytes("c")).ok());
  EXPECT_EQ(ToString(*(*s)->Get("config")), "c");
  ASSERT_TRUE((*s)->Delete("config").ok());
}

}  // namespace
}  // namespace cairn
