// cairn_store_bench: moves a directory's files into an ObjectStore and back
// with T threads, through OpenStore(location, options) — the same call the
// CLI makes, so the store, its retries and (for s3://) its connection pool
// are exactly cairn's. bench/s3_bench.sh compares it with `aws s3 cp
// --recursive` on the same files.
//
//   cairn_store_bench put LOCATION DIR [--prefix P] [--threads T]
//   cairn_store_bench get LOCATION DIR [--prefix P] [--threads T]
//
// put: every regular file below DIR becomes the object P/RELATIVE/PATH.
// get: every object below P is written to DIR/RELATIVE/PATH (directories
//      created), so `diff -r` against the source checks the round trip.
// Prints one line: "put|get: N objects, B bytes in S s: X MiB/s, Y objects/s",
// the time taken from the first request to the last reply (files read and
// written included, process start and the listing excluded).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "backend/object_store.h"
#include "backend/open_store.h"
#include "common/status.h"

namespace cairn {
namespace {

namespace fs = std::filesystem;

struct Job {
  std::string key;
  std::string path;
};

// StoreOptions::connections comes with the S3 backend; set it when this
// build has it, so T threads get T connections rather than the default.
template <class Options>
void SetConnections(Options& o, int n) {
  if constexpr (requires { o.connections = n; }) o.connections = n;
}

Result<Bytes> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Err(Status::IOError("cannot open " + path));
  Bytes data(fs::file_size(path));
  in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(data.size()));
  if (!in) return Err(Status::IOError("cannot read " + path));
  return data;
}

Status WriteFile(const std::string& path, const Bytes& data) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) return Status::IOError("cannot create the directory of " + path + ": " + ec.message());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  out.close();
  if (!out) return Status::IOError("cannot write " + path);
  return Status::OK();
}

// Runs fn over jobs with `threads` workers; the first error stops the others
// from taking new jobs and is returned.
Status RunParallel(const std::vector<Job>& jobs, int threads,
                   const std::function<Result<uint64_t>(const Job&)>& fn, uint64_t* bytes) {
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> total{0};
  std::mutex mu;
  Status first_error = Status::OK();  // guarded by mu
  std::atomic<bool> failed{false};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      while (!failed.load()) {
        size_t i = next.fetch_add(1);
        if (i >= jobs.size()) return;
        Result<uint64_t> r = fn(jobs[i]);
        if (!r.has_value()) {
          std::lock_guard lock(mu);
          if (first_error.ok()) first_error = r.error();
          failed.store(true);
          return;
        }
        total.fetch_add(*r);
      }
    });
  }
  for (auto& w : workers) w.join();
  *bytes = total.load();
  return first_error;
}

int Main(int argc, char** argv) {
  CLI::App app{"Put a directory's files into a cairn ObjectStore, or get them back"};
  std::string op, location, dir, prefix = "bench";
  int threads = 8;
  app.add_option("op", op, "put or get")->required()->check(CLI::IsMember({"put", "get"}));
  app.add_option("location", location, "store location, as for cairn -r")->required();
  app.add_option("dir", dir, "source (put) or target (get) directory")->required();
  app.add_option("--prefix", prefix, "key prefix of the objects");
  app.add_option("--threads", threads, "parallel transfers")->check(CLI::Range(1, 256));
  CLI11_PARSE(app, argc, argv);

  StoreOptions options;
  SetConnections(options, threads);
  auto store = OpenStore(location, options);
  if (!store.has_value()) {
    std::fprintf(stderr, "cairn_store_bench: %s\n", store.error().ToString().c_str());
    return 1;
  }
  ObjectStore& s = **store;
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();

  std::vector<Job> jobs;
  if (op == "put") {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (!it->is_regular_file()) continue;
      std::string rel = fs::relative(it->path(), dir).generic_string();
      jobs.push_back({prefix + "/" + rel, it->path().string()});
    }
    if (ec) {
      std::fprintf(stderr, "cairn_store_bench: cannot list %s: %s\n", dir.c_str(),
                   ec.message().c_str());
      return 1;
    }
  } else {
    Status st = s.List(prefix + "/", [&](const ObjectInfo& info) {
      jobs.push_back({info.key, (fs::path(dir) / info.key.substr(prefix.size() + 1)).string()});
      return Status::OK();
    });
    if (!st.ok()) {
      std::fprintf(stderr, "cairn_store_bench: listing %s: %s\n", s.Describe().c_str(),
                   st.ToString().c_str());
      return 1;
    }
  }
  if (jobs.empty()) {
    std::fprintf(stderr, "cairn_store_bench: nothing to %s (%s, prefix %s)\n", op.c_str(),
                 op == "put" ? dir.c_str() : s.Describe().c_str(), prefix.c_str());
    return 1;
  }
  // Key order: the same order on every run.
  std::sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) { return a.key < b.key; });

  auto t0 = std::chrono::steady_clock::now();
  uint64_t bytes = 0;
  Status st = RunParallel(
      jobs, threads,
      [&](const Job& job) -> Result<uint64_t> {
        if (op == "put") {
          CAIRN_ASSIGN_OR_RETURN(Bytes data, ReadFile(job.path));
          CAIRN_RETURN_IF_ERROR(s.Put(job.key, data));
          return data.size();
        }
        CAIRN_ASSIGN_OR_RETURN(Bytes data, s.Get(job.key));
        CAIRN_RETURN_IF_ERROR(WriteFile(job.path, data));
        return data.size();
      },
      &bytes);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!st.ok()) {
    std::fprintf(stderr, "cairn_store_bench: %s %s: %s\n", op.c_str(), s.Describe().c_str(),
                 st.ToString().c_str());
    return 1;
  }
  std::printf("%s: %zu objects, %llu bytes in %.3f s: %.1f MiB/s, %.1f objects/s\n", op.c_str(),
              jobs.size(), static_cast<unsigned long long>(bytes), secs,
              static_cast<double>(bytes) / (1024.0 * 1024.0) / secs,
              static_cast<double>(jobs.size()) / secs);
  return 0;
}

}  // namespace
}  // namespace cairn

int main(int argc, char** argv) { return cairn::Main(argc, argv); }
