// Per-core throughput of the hot-path primitives (Google Benchmark), and the
// mount's read path end to end (BM_ContentReader*: one file read out of a
// local-directory repository through ContentReader, as the mount does).
// Run: build/bench/cairn_micro_bench
//      CAIRN_BENCH_READ_MB=1024 build/bench/cairn_micro_bench --benchmark_filter=Read
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>

#include "backend/local_dir_store.h"
#include "cache/blob_cache.h"
#include "repo/backup.h"
#include "repo/blob_codec.h"
#include "repo/chunker.h"
#include "repo/content_reader.h"
#include "repo/crypto.h"
#include "repo/tree_walk.h"

namespace cairn {
namespace {

Bytes RandomData(size_t n) {
  Bytes b(n);
  std::mt19937_64 rng(42);
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    std::memcpy(b.data() + i, &v, 8);
  }
  return b;
}

Bytes TextData(size_t n) {
  Bytes b;
  b.reserve(n);
  std::mt19937 rng(7);
  const char* words[] = {"backup ", "cairn ", "chunk ", "pack ", "index ", "tree ", "snapshot\n"};
  while (b.size() < n) {
    const char* w = words[rng() % 7];
    Append(b, AsBytes(w));
  }
  b.resize(n);
  return b;
}

// Arg 0: the default parameters (512 KiB / 1 MiB / 8 MiB), where about 40%
// of the bytes fall in the skipped sub-minimum region; arg 1: 4/16/64 KiB,
// closer to the rate over hashed bytes alone.
void BM_ChunkerNextCut(benchmark::State& state) {
  const Bytes data = RandomData(64 << 20);
  const ChunkerParams params =
      state.range(0) ? ChunkerParams{4 << 10, 16 << 10, 64 << 10} : ChunkerParams{};
  Chunker chunker(params, DeriveGearTable(NewMasterKeys().mac));
  size_t chunks = 0;
  for (auto _ : state) {
    size_t pos = 0;
    chunks = 0;
    while (pos < data.size()) {
      pos += chunker.NextCut(ByteView(data.data() + pos, data.size() - pos));
      ++chunks;
    }
    benchmark::DoNotOptimize(chunks);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  state.counters["mean_chunk"] = static_cast<double>(data.size()) / static_cast<double>(chunks);
  state.SetLabel(state.range(0) ? "4K/16K/64K" : "default 512K/1M/8M");
}
BENCHMARK(BM_ChunkerNextCut)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_BlobId(benchmark::State& state) {
  const Bytes data = RandomData(1 << 20);
  Crypto crypto(NewMasterKeys());
  for (auto _ : state) benchmark::DoNotOptimize(crypto.BlobId(data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_BlobId);

void BM_Sha256(benchmark::State& state) {
  const Bytes data = RandomData(1 << 20);
  for (auto _ : state) benchmark::DoNotOptimize(Sha256(data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_Sha256);

void BM_Seal(benchmark::State& state) {
  const Bytes data = RandomData(1 << 20);
  Crypto crypto(NewMasterKeys());
  Bytes out;
  for (auto _ : state) {
    out.clear();
    crypto.Seal(data, AsBytes("aad"), out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_Seal);

void BM_Open(benchmark::State& state) {
  const Bytes data = RandomData(1 << 20);
  Crypto crypto(NewMasterKeys());
  Bytes sealed, out;
  crypto.Seal(data, AsBytes("aad"), sealed);
  for (auto _ : state) {
    out.clear();
    if (!crypto.Open(sealed, AsBytes("aad"), out).ok()) state.SkipWithError("open");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_Open);

void BM_EncodeBlob(benchmark::State& state) {
  const Bytes data = state.range(0) ? TextData(1 << 20) : RandomData(1 << 20);
  Crypto crypto(NewMasterKeys());
  BlobCodec codec(crypto, 3);
  Id id = crypto.BlobId(data);
  Bytes out;
  for (auto _ : state) {
    out.clear();
    codec.Encode(BlobType::kData, id, data, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  state.SetLabel(state.range(0) ? "text" : "random");
}
BENCHMARK(BM_EncodeBlob)->Arg(0)->Arg(1);

void BM_DecodeBlob(benchmark::State& state) {
  const Bytes data = state.range(0) ? TextData(1 << 20) : RandomData(1 << 20);
  Crypto crypto(NewMasterKeys());
  BlobCodec codec(crypto, 3);
  Id id = crypto.BlobId(data);
  Bytes stored, out;
  codec.Encode(BlobType::kData, id, data, stored);
  for (auto _ : state) {
    out.clear();
    if (!codec.Decode(BlobType::kData, id, stored, out).ok()) state.SkipWithError("decode");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  state.SetLabel(state.range(0) ? "text" : "random");
}
BENCHMARK(BM_DecodeBlob)->Arg(0)->Arg(1);

// ---------------------------------------------------------------- read path

// Evicts a file's pages from the page cache (a "cold" read without
// dropping every cache on the machine).
void DropPages(const std::filesystem::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fdatasync(fd);
  (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}
void DropTree(const std::string& dir) {
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file()) DropPages(it->path());
  }
}

// A local-directory repository holding one file of CAIRN_BENCH_READ_MB MiB
// (default 256) of incompressible data, built once per process and removed
// at exit. Held in a function-local static: benchmark fixtures are rebuilt
// per run, and backing up a gigabyte each time would dominate.
class ReadBenchRepo {
 public:
  static ReadBenchRepo& Get() {
    static ReadBenchRepo r;
    return r;
  }
  ~ReadBenchRepo() {
    reader_cache_.reset();
    repo_.reset();
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  bool ok() const { return repo_ != nullptr; }
  Repository& repo() { return *repo_; }
  const Node& node() const { return node_; }
  const std::string& source() const { return src_file_; }
  std::string root() const { return root_; }
  uint64_t size() const { return node_.size; }

 private:
  ReadBenchRepo() {
    const char* mb = std::getenv("CAIRN_BENCH_READ_MB");
    const uint64_t size = (mb ? std::strtoull(mb, nullptr, 10) : 256) << 20;
    char tmpl[] = "/tmp/cairn-read-bench-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    std::filesystem::create_directories(root_ + "/src");
    src_file_ = root_ + "/src/file";
    {
      int fd = ::open(src_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      Bytes block = RandomData(8 << 20);
      uint64_t x = 1;
      for (uint64_t done = 0; done < size; done += block.size()) {
        for (size_t i = 0; i + 8 <= block.size(); i += 4096) {  // every block differs
          x = x * 6364136223846793005ull + 1442695040888963407ull;
          std::memcpy(block.data() + i, &x, 8);
        }
        size_t n = static_cast<size_t>(std::min<uint64_t>(block.size(), size - done));
        if (::write(fd, block.data(), n) != static_cast<ssize_t>(n)) break;
      }
      ::close(fd);
    }
    InitOptions init;
    init.kdf.n = 1 << 10;
    OpenOptions open;
    open.cache_dir = root_ + "/cache";
    auto repo = Repository::Init(std::make_unique<LocalDirStore>(root_ + "/repo"), "pw", init,
                                 open);
    if (!repo) return;
    BackupOptions bo;
    bo.paths = {root_ + "/src"};
    auto r = RunBackup(**repo, bo, nullptr, nullptr, nullptr);
    if (!r) return;
    auto codec = (*repo)->NewCodec();
    auto n = ResolvePath(**repo, *codec, r->snapshot, src_file_);
    if (!n) return;
    node_ = *n;
    repo_ = std::move(*repo);
  }

  std::string root_, src_file_;
  std::unique_ptr<Repository> repo_;
  std::unique_ptr<BlobCache> reader_cache_;
  Node node_;
};

// CPU seconds used by the whole process (all threads) so far: throughput
// on this shared 2-core machine varies with the load, CPU per byte less so.
double ProcessCpuSeconds() {
  struct rusage ru;
  ::getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

// Reads the whole file in `piece`-byte reads; false on an error or a
// short read.
bool ReadWholeFile(ContentReader& reader, const Node& node, size_t piece, Bytes& buf) {
  buf.resize(piece);
  auto f = reader.Open(node, "bench");
  uint64_t off = 0;
  while (off < node.size) {
    auto n = reader.Read(*f, off, std::span<uint8_t>(buf.data(), buf.size()));
    if (!n || *n == 0) return false;
    off += *n;
  }
  return true;
}

// Arg 0: KiB per read (128: the kernel's default FUSE read; 1024: max_read
// raised). Arg 1: 0 = no disk cache, cold store; 1 = cold store while
// filling an empty disk cache; 2 = disk cache warm, its page cache dropped.
void BM_ContentReaderRead(benchmark::State& state) {
  ReadBenchRepo& b = ReadBenchRepo::Get();
  if (!b.ok()) return state.SkipWithError("could not build the benchmark repository");
  const size_t piece = static_cast<size_t>(state.range(0)) << 10;
  const int64_t mode = state.range(1);
  const std::string cache_dir = b.root() + "/blobs";
  Bytes buf;
  if (mode == 2) {  // fill once
    std::filesystem::remove_all(cache_dir);
    auto cache = BlobCache::Open(cache_dir, uint64_t{8} << 30);
    ContentReader reader(b.repo(), cache->get(), {});
    ReadWholeFile(reader, b.node(), piece, buf);
  }
  double cpu = 0;
  uint64_t dropped = 0;
  for (auto _ : state) {
    state.PauseTiming();
    if (mode == 1) std::filesystem::remove_all(cache_dir);
    DropTree(b.root() + "/repo/packs");
    DropTree(cache_dir);
    std::unique_ptr<BlobCache> cache;
    if (mode > 0) cache = std::move(*BlobCache::Open(cache_dir, uint64_t{8} << 30));
    const double cpu0 = ProcessCpuSeconds();
    state.ResumeTiming();
    {
      ContentReader reader(b.repo(), cache.get(), {});
      if (!ReadWholeFile(reader, b.node(), piece, buf)) return state.SkipWithError("read failed");
      dropped += reader.stats().disk_puts_dropped;
    }  // includes writing the queued disk cache puts
    cpu += ProcessCpuSeconds() - cpu0;
  }
  std::filesystem::remove_all(cache_dir);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * b.size()));
  state.counters["cpu_s_per_GiB"] =
      cpu / (static_cast<double>(state.iterations() * b.size()) / (1 << 30));
  state.counters["puts_dropped"] = static_cast<double>(dropped);
  const char* labels[] = {"store cold", "store cold, filling disk cache",
                          "disk cache warm, page cache cold"};
  state.SetLabel(labels[mode]);
}
BENCHMARK(BM_ContentReaderRead)
    ->ArgsProduct({{128, 1024}, {0, 1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(2);

// BlobCache alone: Put (arg 0) or Get (arg 1) of 1 MiB stored blobs, the
// cache holding at most 256 MiB (Puts evict once it is full).
void BM_BlobCache(benchmark::State& state) {
  char tmpl[] = "/tmp/cairn-blobcache-bench-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  {
    auto cache = BlobCache::Open(dir, 256 << 20);
    if (!cache) return state.SkipWithError("open");
    const Bytes data = RandomData(1 << 20);
    auto id_of = [](uint64_t i) {
      Id id;
      std::memcpy(id.bytes.data(), &i, sizeof(i));
      return id;
    };
    const bool get = state.range(0) == 1;
    if (get) {
      for (uint64_t i = 0; i < 128; ++i) (*cache)->Put(id_of(i), data);
    }
    uint64_t i = 0;
    for (auto _ : state) {
      if (get) {
        auto b = (*cache)->Get(id_of(i++ % 128));
        if (!b) return state.SkipWithError("miss");
        benchmark::DoNotOptimize(b->data());
      } else {
        (*cache)->Put(id_of(1000 + i++), data);
      }
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
    state.SetLabel(get ? "get (page cache warm)" : "put");
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_BlobCache)->Arg(0)->Arg(1);

// The baseline the mount is measured against: the source file read with
// read(2) in 1 MiB pieces, its page cache dropped.
void BM_SourceReadCold(benchmark::State& state) {
  ReadBenchRepo& b = ReadBenchRepo::Get();
  if (!b.ok()) return state.SkipWithError("could not build the benchmark repository");
  Bytes buf(1 << 20);
  double cpu = 0;
  for (auto _ : state) {
    state.PauseTiming();
    DropPages(b.source());
    const double cpu0 = ProcessCpuSeconds();
    state.ResumeTiming();
    int fd = ::open(b.source().c_str(), O_RDONLY | O_CLOEXEC);
    while (::read(fd, buf.data(), buf.size()) > 0) {
    }
    ::close(fd);
    cpu += ProcessCpuSeconds() - cpu0;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * b.size()));
  state.counters["cpu_s_per_GiB"] =
      cpu / (static_cast<double>(state.iterations() * b.size()) / (1 << 30));
}
BENCHMARK(BM_SourceReadCold)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);

}  // namespace
}  // namespace cairn

BENCHMARK_MAIN();
