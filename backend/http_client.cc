#include "backend/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace cairn {

namespace {

// curl_global_init once per process, before the first handle (thread-safe
// since curl 7.84; the static makes it once).
void GlobalInit() {
  static const bool done = [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return true;
  }();
  (void)done;
}

struct Transfer {
  ByteView upload;
  size_t sent = 0;
  HttpResponse* resp = nullptr;
};

size_t ReadBody(char* buf, size_t size, size_t n, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  const size_t want = std::min(size * n, t->upload.size() - t->sent);
  std::memcpy(buf, t->upload.data() + t->sent, want);
  t->sent += want;
  return want;
}

int SeekBody(void* userp, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(userp);
  if (origin != SEEK_SET || offset < 0 || static_cast<size_t>(offset) > t->upload.size()) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  t->sent = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

size_t WriteBody(char* buf, size_t size, size_t n, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  Append(t->resp->body, ByteView(reinterpret_cast<const uint8_t*>(buf), size * n));
  return size * n;
}

size_t OnHeader(char* buf, size_t size, size_t n, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  std::string_view line(buf, size * n);
  if (line.starts_with("HTTP/")) {
    t->resp->headers.clear();  // a new reply (after 100 Continue or a redirect)
    return size * n;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name(line.substr(0, colon));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  if (name == "content-length") {
    // Size the body buffer once instead of growing it through 16 MiB.
    uint64_t len = 0;
    for (char c : value) {
      if (!std::isdigit(static_cast<unsigned char>(c))) break;
      len = len * 10 + static_cast<uint64_t>(c - '0');
    }
    if (len < (uint64_t{1} << 33)) t->resp->body.reserve(static_cast<size_t>(len));
  }
  t->resp->headers[name] = std::string(value);
  return size * n;
}

}  // namespace

struct HttpClient::Handle {
  CURL* curl = nullptr;
  ~Handle() {
    if (curl) curl_easy_cleanup(curl);
  }
};

std::string HttpResponse::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

HttpClient::HttpClient(int max_connections, HttpTimeouts timeouts)
    : max_connections_(std::max(1, max_connections)), timeouts_(timeouts) {
  GlobalInit();
}

HttpClient::~HttpClient() = default;

std::unique_ptr<HttpClient::Handle> HttpClient::Acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !idle_.empty() || created_ < max_connections_; });
  if (!idle_.empty()) {
    auto h = std::move(idle_.back());
    idle_.pop_back();
    return h;
  }
  ++created_;
  lock.unlock();
  auto h = std::make_unique<Handle>();
  h->curl = curl_easy_init();
  return h;
}

void HttpClient::Release(std::unique_ptr<Handle> h) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (h->curl) {
      idle_.push_back(std::move(h));
    } else {
      --created_;
    }
  }
  cv_.notify_one();
}

bool HttpClient::IsTransientCurlCode(int code) {
  switch (static_cast<CURLcode>(code)) {
    case CURLE_COULDNT_RESOLVE_HOST:  // DNS hiccups pass; a typo fails all retries quickly
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_WEIRD_SERVER_REPLY:
    // "Received HTTP/0.9": bytes that are no reply, e.g. a body a broken
    // proxy left on a kept-alive connection. Only http(s) URLs reach curl
    // (S3Location checks), so this never means a wrong scheme.
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_READ_ERROR:
      return true;
    default:
      return false;
  }
}

HttpResponse HttpClient::Perform(const HttpRequest& req) {
  HttpResponse resp;
  std::unique_ptr<Handle> h = Acquire();
  CURL* c = h->curl;
  if (c == nullptr) {
    resp.curl_code = CURLE_FAILED_INIT;
    resp.curl_error = "curl_easy_init failed";
    h.reset();
    std::lock_guard<std::mutex> lock(mu_);
    --created_;
    cv_.notify_one();
    return resp;
  }
  curl_easy_reset(c);  // keeps the live connection and DNS cache
  Transfer t;
  t.upload = req.body;
  t.resp = &resp;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 256L * 1024);
  curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeouts_.connect_ms));
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(timeouts_.low_speed_bytes));
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(timeouts_.low_speed_time_s));
  if (timeouts_.total_ms > 0) {
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeouts_.total_ms));
  }
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);

  struct curl_slist* hdrs = nullptr;
  for (const auto& [k, v] : req.headers) {
    const std::string line = v.empty() ? k + ";" : k + ": " + v;
    hdrs = curl_slist_append(hdrs, line.c_str());
  }
  // No "Expect: 100-continue" round trip before every part; no default
  // form content type on POST.
  hdrs = curl_slist_append(hdrs, "Expect:");
  if (req.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (req.method == "PUT") {
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, ReadBody);
    curl_easy_setopt(c, CURLOPT_READDATA, &t);
    curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, SeekBody);
    curl_easy_setopt(c, CURLOPT_SEEKDATA, &t);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  } else if (req.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    // Never NULL: curl would then read the body from stdin.
    const char* fields = req.body.empty() ? "" : reinterpret_cast<const char*>(req.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, fields);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  } else if (req.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);

  const CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(hdrs);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  resp.curl_code = static_cast<int>(rc);
  if (rc != CURLE_OK) {
    resp.curl_error = errbuf[0] ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
  } else if (req.method != "HEAD") {
    // A body shorter than Content-Length that curl did not flag (it does
    // for a closed connection; this also covers a lying proxy).
    curl_off_t expected = -1;
    curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &expected);
    if (expected >= 0 && static_cast<uint64_t>(expected) != resp.body.size()) {
      resp.curl_code = CURLE_PARTIAL_FILE;
      resp.curl_error = "body has " + std::to_string(resp.body.size()) +
                        " bytes, Content-Length said " + std::to_string(expected);
    }
  }
  Release(std::move(h));
  return resp;
}

}  // namespace cairn
