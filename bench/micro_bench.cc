// Per-core throughput of the hot-path primitives (Google Benchmark).
// Run: build/bench/cairn_micro_bench
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>

#include "repo/blob_codec.h"
#include "repo/chunker.h"
#include "repo/crypto.h"

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

}  // namespace
}  // namespace cairn

BENCHMARK_MAIN();
