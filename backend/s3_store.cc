#include "backend/s3_store.h"

#include <algorithm>
#include <atomic>
#include <ctime>
#include <mutex>
#include <thread>

#include "backend/s3_errors.h"
#include "backend/s3_lock.h"
#include "backend/s3_xml.h"

namespace cairn {

namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

// Bodies below this size are hashed into the signature; larger ones (PUTs
// of packs and parts) are bound to it through their signed Content-MD5.
constexpr size_t kAlwaysHashBelow = 64 * 1024;

std::string RangeHeader(uint64_t offset, uint64_t length) {
  if (length == ObjectStore::kToEnd || length > UINT64_MAX - offset) {
    return "bytes=" + std::to_string(offset) + "-";
  }
  return "bytes=" + std::to_string(offset) + "-" + std::to_string(offset + length - 1);
}

std::string StripQuotes(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

}  // namespace

S3Store::S3Store(S3Location loc, std::unique_ptr<CredentialProvider> creds, S3StoreOptions opts)
    : loc_(std::move(loc)),
      creds_(std::move(creds)),
      opts_(std::move(opts)),
      http_(opts_.connections, opts_.timeouts) {}

S3Store::~S3Store() = default;

std::string S3Store::Target(std::string_view s3_key) const {
  return "s3://" + loc_.bucket + (s3_key.empty() ? "" : "/" + std::string(s3_key));
}

Status S3Store::ErrorFor(const Call& call, const HttpResponse& resp) const {
  const std::string target = Target(call.s3_key);
  Status s = S3StatusFromResponse({call.op, target, loc_.region}, resp);
  if (opts_.logger) {
    opts_.logger->Debug("S3 {} {}: HTTP {} request id {}: {}", call.op, target, resp.status,
                        resp.Header("x-amz-request-id"), s.message());
  }
  return s;
}

Result<HttpResponse> S3Store::SendRaw(const Call& call) {
  CAIRN_ASSIGN_OR_RETURN(AwsCredentials cr, creds_->Get());
  SigV4Request req;
  req.method = call.method;
  req.path = loc_.Path(call.s3_key);
  req.query = call.query;
  req.headers = call.headers;
  const bool hash = call.body.size() < kAlwaysHashBelow;
  req.payload_hash = hash ? Sha256Hex(call.body) : "UNSIGNED-PAYLOAD";
  const std::string amz_date = AmzDate(static_cast<int64_t>(::time(nullptr)));
  req.headers.emplace_back("host", loc_.host);
  req.headers.emplace_back("x-amz-date", amz_date);
  req.headers.emplace_back("x-amz-content-sha256", req.payload_hash);
  if (!cr.session_token.empty()) req.headers.emplace_back("x-amz-security-token", cr.session_token);
  if (opts_.before_sign) opts_.before_sign(req);
  if (opts_.strict) {
    CAIRN_RETURN_IF_ERROR(CheckStrictRequest(call.op, Target(call.s3_key), req.headers));
  }

  HttpRequest http;
  http.method = req.method;
  http.url = loc_.Url(req.path, req.query);
  http.headers = req.headers;
  http.headers.emplace_back("authorization",
                            AuthorizationHeader(req, cr, loc_.region, "s3", amz_date));
  http.body = call.body;
  HttpResponse resp = http_.Perform(http);
  if (resp.curl_code != 0) return Err(ErrorFor(call, resp));
  return resp;
}

Result<HttpResponse> S3Store::Send(const Call& call) {
  CAIRN_ASSIGN_OR_RETURN(HttpResponse resp, SendRaw(call));
  if (resp.status < 200 || resp.status >= 300) return Err(ErrorFor(call, resp));
  return resp;
}

StoreTraits S3Store::Traits() const {
  StoreTraits t;
  t.latency = StoreTraits::Latency::kRemote;
  t.connections = static_cast<unsigned>(std::max(1, opts_.connections));
  t.object_lock = true;
  t.storage_classes = true;
  t.archive_restore = true;
  return t;
}

Result<Bytes> S3Store::DoGet(std::string_view key, uint64_t offset, uint64_t length) {
  const std::string s3_key = loc_.FullKey(key);
  auto past_end = [&](uint64_t size) {
    return Status::OutOfRange(Target(s3_key) + ": offset " + std::to_string(offset) +
                              " is past the end (" + std::to_string(size) + " bytes)");
  };
  if (length == 0) {  // no valid Range for zero bytes: check the size instead
    CAIRN_ASSIGN_OR_RETURN(ObjectInfo info, Head(key));
    if (offset > info.size) return Err(past_end(info.size));
    return Bytes();
  }
  Call call{"GET", "GET", s3_key, {}, {}, {}};
  if (offset != 0 || length != kToEnd) call.headers.emplace_back("range", RangeHeader(offset, length));
  CAIRN_ASSIGN_OR_RETURN(HttpResponse resp, SendRaw(call));
  if (resp.status == 416) {
    // S3 answers 416 for a range starting at or past the end (and for any
    // range of an empty object); the contract wants empty at the end.
    CAIRN_ASSIGN_OR_RETURN(ObjectInfo info, Head(key));
    if (offset > info.size) return Err(past_end(info.size));
    return Bytes();
  }
  if (resp.status != 200 && resp.status != 206) return Err(ErrorFor(call, resp));
  if (resp.status == 200 && offset != 0) {
    // A server that ignored Range sent everything: cut it here.
    if (offset > resp.body.size()) return Err(past_end(resp.body.size()));
    Bytes part(resp.body.begin() + static_cast<ptrdiff_t>(offset),
               resp.body.begin() + static_cast<ptrdiff_t>(
                                       offset + std::min<uint64_t>(length, resp.body.size() - offset)));
    return part;
  }
  return std::move(resp.body);
}

Result<ObjectInfo> S3Store::Head(std::string_view key) {
  const std::string s3_key = loc_.FullKey(key);
  CAIRN_ASSIGN_OR_RETURN(HttpResponse resp, Send({"HEAD", "HEAD", s3_key, {}, {}, {}}));
  ObjectInfo info;
  info.key = std::string(key);
  const std::string len = resp.Header("content-length");
  try {
    info.size = std::stoull(len);
  } catch (...) {
    return Err(Status::Transient(Target(s3_key) + ": HEAD reply has no valid Content-Length (\"" +
                                 len + "\")"));
  }
  return info;
}

Status S3Store::List(std::string_view prefix, const std::function<Status(const ObjectInfo&)>& fn) {
  const std::string key_prefix = loc_.KeyPrefix();
  const std::string s3_prefix = key_prefix + std::string(prefix);
  std::string token;
  while (true) {
    Call call{"ListObjectsV2", "GET", "", {{"list-type", "2"}, {"max-keys", "1000"}}, {}, {}};
    if (!s3_prefix.empty()) call.query.emplace_back("prefix", s3_prefix);
    if (!token.empty()) call.query.emplace_back("continuation-token", token);
    CAIRN_ASSIGN_OR_RETURN(HttpResponse resp, Send(call));
    auto page = ParseListObjectsV2(AsChars(resp.body));
    if (!page) return page.error().WithContext(Target(s3_prefix) + ": ListObjectsV2");
    for (ObjectInfo& o : page->objects) {
      if (!o.key.starts_with(key_prefix)) continue;  // a server ignoring prefix
      o.key.erase(0, key_prefix.size());
      CAIRN_RETURN_IF_ERROR(fn(o));
    }
    if (!page->truncated) return Status::OK();
    token = page->next_continuation_token;
  }
}

void S3Store::AddPutHeaders(Call& call, const PutOptions& opts, bool lock_headers) const {
  if (!opts.storage_class.empty()) call.headers.emplace_back("x-amz-storage-class", opts.storage_class);
  if (lock_headers) {
    for (auto& h : ObjectLockHeaders(opts.lock_mode, opts.retain_until_ns)) {
      call.headers.push_back(std::move(h));
    }
  }
}

Status S3Store::DoPut(std::string_view key, ByteView data, const PutOptions& opts) {
  const std::string s3_key = loc_.FullKey(key);
  if (opts.if_not_exists) {
    // radosgw ignores If-None-Match on versioned buckets and on multipart
    // completion: look first, then also ask the server to enforce it.
    CAIRN_RETURN_IF_ERROR(CheckAbsent(key, s3_key));
  }
  const bool locked_single =
      opts.lock_mode != LockMode::kNone && data.size() <= opts_.locked_single_put_limit;
  if (data.size() > opts_.multipart_threshold && !locked_single) {
    return PutMultipart(s3_key, data, opts);
  }
  return PutSingle(s3_key, data, opts);
}

Result<bool> S3Store::Versioned() {
  std::lock_guard<std::mutex> lock(versioned_mu_);
  if (versioned_) return *versioned_;
  CAIRN_ASSIGN_OR_RETURN(HttpResponse resp,
                         Send({"GetBucketVersioning", "GET", "", {{"versioning", ""}}, {}, {}}));
  auto status = ParseVersioningStatus(AsChars(resp.body));
  if (!status) return Err(status.error().WithContext(Target("") + ": GetBucketVersioning"));
  versioned_ = !status->empty();  // "Suspended" keeps old versions too
  return *versioned_;
}

Status S3Store::CheckAbsent(std::string_view key, const std::string& s3_key) {
  const Status exists = Status::AlreadyExists(Target(s3_key) + ": the object already exists");
  CAIRN_ASSIGN_OR_RETURN(bool versioned, Versioned());
  if (!versioned) {
    auto head = Head(key);
    if (head) return exists;
    return head.error().Is(ErrorCode::kNotFound) ? Status::OK() : head.error();
  }
  // Versions of one key are listed together, in key order, so the first
  // page of the prefix holds the key's own versions if it has any.
  Call list{"ListObjectVersions", "GET", "", {{"versions", ""}, {"prefix", s3_key},
                                              {"max-keys", "10"}}, {}, {}};
  CAIRN_ASSIGN_OR_RETURN(HttpResponse resp, Send(list));
  auto page = ParseListVersions(AsChars(resp.body));
  if (!page) return page.error().WithContext(Target(s3_key) + ": ListObjectVersions");
  for (const S3Version& v : page->versions) {
    if (v.key != s3_key) continue;
    if (v.delete_marker) {
      return Status::AlreadyExists(Target(s3_key) +
                                   ": the object existed and was deleted (its versions are "
                                   "kept in this versioned bucket); refusing to write it again");
    }
    return exists;
  }
  return Status::OK();
}

Status S3Store::PutSingle(const std::string& s3_key, ByteView data, const PutOptions& opts) {
  Call call{"PUT", "PUT", s3_key, {}, {{"content-md5", ContentMd5(data)}}, data};
  call.headers.emplace_back("content-length", std::to_string(data.size()));
  if (opts.if_not_exists) call.headers.emplace_back("if-none-match", "*");
  AddPutHeaders(call, opts, true);
  auto r = Send(call);
  if (!r && r.error().Is(ErrorCode::kAlreadyExists)) {
    // curl re-sends a request transparently when a reused connection dies
    // before the reply (a reset after the server stored the object): the
    // second copy then meets our own object. Same bytes (single-PUT ETag is
    // the MD5) means this Put succeeded.
    auto head = Send({"HEAD", "HEAD", s3_key, {}, {}, {}});
    if (head && StripQuotes(head->Header("etag")) == Md5Hex(data)) return Status::OK();
    return Status::AlreadyExists(Target(s3_key) + ": the object already exists");
  }
  return AsStatus(r);
}

Status S3Store::PutMultipart(const std::string& s3_key, ByteView data, const PutOptions& opts) {
  Call init{"CreateMultipartUpload", "POST", s3_key, {{"uploads", ""}}, {}, {}};
  AddPutHeaders(init, opts, true);
  CAIRN_ASSIGN_OR_RETURN(HttpResponse ir, Send(init));
  auto upload_id = ParseInitiateMultipartUpload(AsChars(ir.body));
  if (!upload_id) return upload_id.error().WithContext(Target(s3_key));

  const uint64_t part = std::max<uint64_t>(opts_.part_size, 5ull << 20);
  const size_t nparts = static_cast<size_t>((data.size() + part - 1) / part);
  std::vector<std::string> etags(nparts);
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex err_mu;
  Status first_error;  // GUARDED_BY(err_mu)
  auto worker = [&] {
    while (!failed.load()) {
      const size_t i = next.fetch_add(1);
      if (i >= nparts) return;
      const uint64_t off = i * part;
      ByteView chunk = data.subspan(off, std::min<uint64_t>(part, data.size() - off));
      Call c{"UploadPart", "PUT", s3_key,
             {{"partNumber", std::to_string(i + 1)}, {"uploadId", *upload_id}},
             {{"content-md5", ContentMd5(chunk)}, {"content-length", std::to_string(chunk.size())}},
             chunk};
      auto r = Send(c);
      if (r && !r->Header("etag").empty()) {
        etags[i] = r->Header("etag");
        continue;
      }
      std::lock_guard<std::mutex> lock(err_mu);
      if (!failed.exchange(true)) {
        first_error = r ? Status::Transient(Target(s3_key) + ": UploadPart " +
                                            std::to_string(i + 1) + " returned no ETag")
                        : r.error();
      }
    }
  };
  const size_t nthreads = std::min<size_t>(nparts, static_cast<size_t>(std::max(1, opts_.connections)));
  std::vector<std::thread> threads;
  for (size_t t = 1; t < nthreads; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();

  auto abort = [&](Status s) {
    Call a{"AbortMultipartUpload", "DELETE", s3_key, {{"uploadId", *upload_id}}, {}, {}};
    auto ar = Send(a);
    if (!ar && opts_.logger) {
      opts_.logger->Warn("{}: could not abort multipart upload {} ({}); a lifecycle rule for "
                         "incomplete uploads cleans it up",
                         Target(s3_key), *upload_id, ar.error().message());
    }
    return s;
  };
  if (failed.load()) return abort(first_error);

  const std::string xml = CompleteMultipartUploadXml(etags);
  Call done{"CompleteMultipartUpload", "POST", s3_key, {{"uploadId", *upload_id}},
            {{"content-type", "application/xml"}}, AsBytes(xml)};
  if (opts.if_not_exists) done.headers.emplace_back("if-none-match", "*");
  auto cr = SendRaw(done);
  if (cr && cr->status == 404 && S3ErrorCode(*cr) == "NoSuchUpload") {
    // curl re-sent the Complete after a connection died before the first
    // one's reply (see PutSingle): the upload may be complete already.
    auto head = Send({"HEAD", "HEAD", s3_key, {}, {}, {}});
    if (head && head->Header("content-length") == std::to_string(data.size()) &&
        head->Header("etag").find("-" + std::to_string(nparts)) != std::string::npos) {
      cr->status = 200;
      cr->body.clear();
    }
  }
  if (cr && (cr->status < 200 || cr->status >= 300)) cr = Err(ErrorFor(done, *cr));
  if (!cr) {
    if (cr.error().Is(ErrorCode::kAlreadyExists)) {
      return abort(Status::AlreadyExists(Target(s3_key) + ": the object already exists"));
    }
    return abort(cr.error());
  }
  // S3 may answer 200 and put the error in the body.
  if (auto e = ParseErrorBody(AsChars(cr->body))) {
    cr->status = e->code == "InternalError" || e->code == "SlowDown" ? 500 : 400;
    return abort(ErrorFor(done, *cr));
  }
  // The completed object's ETag comes from HEAD (radosgw's reply has none);
  // HEAD also proves the object is there with the right size.
  CAIRN_ASSIGN_OR_RETURN(HttpResponse head, Send({"HEAD", "HEAD", s3_key, {}, {}, {}}));
  if (head.Header("content-length") != std::to_string(data.size())) {
    return Status::Transient(Target(s3_key) + ": after CompleteMultipartUpload the object has " +
                             head.Header("content-length") + " bytes, expected " +
                             std::to_string(data.size()));
  }
  if (opts.lock_mode != LockMode::kNone) return LockAfterMultipart(s3_key, opts);
  return Status::OK();
}

Status S3Store::LockAfterMultipart(const std::string& s3_key, const PutOptions& opts) {
  // radosgw ignores lock headers on CreateMultipartUpload and leaves the
  // object deletable: set the lock again, then check it is there.
  const std::string plain = s3_key.substr(loc_.KeyPrefix().size());
  CAIRN_RETURN_IF_ERROR(SetRetention(plain, opts.lock_mode, opts.retain_until_ns));
  CAIRN_ASSIGN_OR_RETURN(HttpResponse head, Send({"HEAD", "HEAD", s3_key, {}, {}, {}}));
  const std::string mode = head.Header("x-amz-object-lock-mode");
  const auto until = ParseIso8601(head.Header("x-amz-object-lock-retain-until-date"));
  if (mode != LockModeName(opts.lock_mode) || !until ||
      *until < RoundUpToSecond(opts.retain_until_ns)) {
    return Status::Unsupported(
        Target(s3_key) + ": after a multipart upload and PutObjectRetention the object is not "
                         "locked as asked (HEAD says mode \"" + mode + "\", retain-until \"" +
        head.Header("x-amz-object-lock-retain-until-date") + "\"); the server does not keep "
        "object locks");
  }
  return Status::OK();
}

Status S3Store::Delete(std::string_view key) {
  const std::string s3_key = loc_.FullKey(key);
  auto r = Send({"DELETE", "DELETE", s3_key, {}, {}, {}});
  if (!r && r.error().Is(ErrorCode::kNotFound) &&
      r.error().message().find("NoSuchBucket") == std::string::npos) {
    return Status::OK();
  }
  return AsStatus(r);
}

Status S3Store::DeleteMany(const std::vector<std::string>& keys) {
  for (size_t start = 0; start < keys.size(); start += 1000) {
    std::vector<std::string> batch;
    for (size_t i = start; i < std::min(keys.size(), start + 1000); ++i) {
      batch.push_back(loc_.FullKey(keys[i]));
    }
    const std::string xml = DeleteObjectsXml(batch, true);
    Call c{"DeleteObjects", "POST", "", {{"delete", ""}},
           {{"content-md5", ContentMd5(AsBytes(xml))}, {"content-type", "application/xml"}},
           AsBytes(xml)};
    CAIRN_ASSIGN_OR_RETURN(HttpResponse resp, Send(c));
    auto result = ParseDeleteResult(AsChars(resp.body));
    if (!result) return result.error().WithContext(Target("") + ": DeleteObjects");
    for (const auto& f : result->errors) {
      if (f.code == "NoSuchKey") continue;
      HttpResponse fake;
      fake.status = f.code == "AccessDenied" ? 403 : f.code == "InternalError" ? 500 : 400;
      fake.body = ToBytes("<Error><Code>" + f.code + "</Code></Error>");
      return S3StatusFromResponse({"DeleteObjects", Target(f.key), loc_.region}, fake);
    }
  }
  return Status::OK();
}

Status S3Store::SetRetention(std::string_view key, LockMode mode, int64_t retain_until_ns) {
  if (mode == LockMode::kNone) {
    return Status::InvalidArgument(Target(loc_.FullKey(key)) + ": SetRetention needs a lock mode");
  }
  const std::string xml = RetentionXml(mode, retain_until_ns);
  Call c{"PutObjectRetention", "PUT", loc_.FullKey(key), {{"retention", ""}},
         {{"content-md5", ContentMd5(AsBytes(xml))}, {"content-type", "application/xml"},
          {"content-length", std::to_string(xml.size())}},
         AsBytes(xml)};
  return AsStatus(Send(c));
}

Result<int64_t> S3Store::GetRetention(std::string_view key) {
  Call c{"GetObjectRetention", "GET", loc_.FullKey(key), {{"retention", ""}}, {}, {}};
  CAIRN_ASSIGN_OR_RETURN(HttpResponse resp, SendRaw(c));
  if (resp.status != 200) {
    const std::string code = S3ErrorCode(resp);
    if (code == "NoSuchObjectLockConfiguration" || code == "ObjectLockConfigurationNotFoundError") {
      return int64_t{0};
    }
    return Err(ErrorFor(c, resp));
  }
  auto r = ParseRetention(AsChars(resp.body));
  if (!r) return Err(r.error().WithContext(Target(c.s3_key) + ": GetObjectRetention"));
  return r->retain_until_ns;
}

Status S3Store::RequestRestore(std::string_view key, int days) {
  const std::string xml = RestoreRequestXml(days, "Standard");
  Call c{"RestoreObject", "POST", loc_.FullKey(key), {{"restore", ""}},
         {{"content-md5", ContentMd5(AsBytes(xml))}, {"content-type", "application/xml"}},
         AsBytes(xml)};
  CAIRN_ASSIGN_OR_RETURN(HttpResponse resp, SendRaw(c));
  if (resp.status == 200 || resp.status == 202) return Status::OK();
  if (S3ErrorCode(resp) == "RestoreAlreadyInProgress") return Status::OK();
  return ErrorFor(c, resp);
}

Result<ObjectLockConfig> S3Store::GetObjectLockConfig() {
  Call c{"GetObjectLockConfiguration", "GET", "", {{"object-lock", ""}}, {}, {}};
  CAIRN_ASSIGN_OR_RETURN(HttpResponse resp, SendRaw(c));
  if (resp.status == 404 && S3ErrorCode(resp) != "NoSuchBucket") return ObjectLockConfig{};
  if (resp.status != 200) return Err(ErrorFor(c, resp));
  auto cfg = ParseObjectLockConfiguration(AsChars(resp.body));
  if (!cfg) return Err(cfg.error().WithContext(Target("") + ": GetObjectLockConfiguration"));
  return *cfg;
}

Status S3Store::EnsureBucket(bool object_lock) {
  Call head{"HeadBucket", "HEAD", "", {}, {}, {}};
  CAIRN_ASSIGN_OR_RETURN(HttpResponse hr, SendRaw(head));
  if (hr.status == 200) return Status::OK();
  if (hr.status != 404) return ErrorFor(head, hr);
  const std::string xml = CreateBucketXml(loc_.region);
  Call create{"CreateBucket", "PUT", "", {}, {{"content-length", std::to_string(xml.size())}},
              AsBytes(xml)};
  if (object_lock) create.headers.emplace_back("x-amz-bucket-object-lock-enabled", "true");
  CAIRN_ASSIGN_OR_RETURN(HttpResponse cr, SendRaw(create));
  if (cr.status == 200) {
    if (opts_.logger) opts_.logger->Info("created bucket {} in {}", loc_.bucket, loc_.region);
    return Status::OK();
  }
  if (S3ErrorCode(cr) == "BucketAlreadyOwnedByYou") return Status::OK();
  return ErrorFor(create, cr);
}

}  // namespace cairn
