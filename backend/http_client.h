// HttpClient: blocking HTTP/1.1 requests over libcurl for S3Store and the
// credential providers. It knows nothing about S3: it reports the transport
// outcome (curl code) and the HTTP reply; S3Store maps both to Status.
//
// Design: a pool of at most max_connections curl easy handles. A caller
// leases a handle for one request (blocking while all are busy), so N
// caller threads run N transfers in parallel and the process never opens
// more than max_connections connections per client. Each easy handle keeps
// its connection alive between requests (curl_easy_reset keeps the
// connection cache), so a busy store reuses warm connections. This is
// simpler than one event-loop thread driving a curl multi handle and gives
// the same parallelism for cairn's callers, which are already threads
// (blob saver uploaders, restore/check fetchers, multipart part workers).
//
// Timeouts make a stalled connection an error, never a hang: connect
// timeout, a low-speed limit (fewer than low_speed_bytes per second for
// low_speed_time_s seconds aborts the transfer) and a total timeout.
//
// Thread-safe: Perform may be called from any number of threads.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/bytes.h"

namespace cairn {

struct HttpTimeouts {
  int64_t connect_ms = 10000;
  int64_t low_speed_time_s = 30;  // abort when slower than low_speed_bytes/s this long
  int64_t low_speed_bytes = 1024;
  int64_t total_ms = 15 * 60 * 1000;  // whole request, body included; 0: none
};

struct HttpRequest {
  std::string method;  // GET, HEAD, PUT, POST, DELETE
  std::string url;     // full URL, already encoded
  std::vector<std::pair<std::string, std::string>> headers;
  ByteView body;  // PUT/POST body; must stay valid during Perform
};

struct HttpResponse {
  int curl_code = 0;       // CURLcode; 0 when an HTTP reply arrived in full
  std::string curl_error;  // curl's error text when curl_code != 0
  long status = 0;         // HTTP status (0 when none arrived)
  std::map<std::string, std::string> headers;  // names lowercased; last value wins
  Bytes body;

  // The header's value, or "" when absent.
  std::string Header(const std::string& lower_name) const;
};

class HttpClient {
 public:
  HttpClient(int max_connections, HttpTimeouts timeouts);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Performs the request; never throws. The transport outcome is in
  // curl_code; an HTTP error status is a normal reply.
  HttpResponse Perform(const HttpRequest& req);

  const HttpTimeouts& timeouts() const { return timeouts_; }

  // Whether curl_code means the request may succeed if sent again
  // (connect failure, reset, timeout, truncated or empty reply).
  static bool IsTransientCurlCode(int curl_code);

 private:
  struct Handle;
  std::unique_ptr<Handle> Acquire();
  void Release(std::unique_ptr<Handle> h);

  const int max_connections_;
  const HttpTimeouts timeouts_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Handle>> idle_;  // GUARDED_BY(mu_)
  int created_ = 0;                            // GUARDED_BY(mu_)
};

}  // namespace cairn
