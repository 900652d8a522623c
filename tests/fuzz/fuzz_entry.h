// Fuzz targets define their entry point through CAIRN_FUZZ_ENTRY: libFuzzer
// binaries keep the standard name, while the regression test compiles each
// target with its own name (-DCAIRN_FUZZ_ENTRY=...) so all link together.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#ifndef CAIRN_FUZZ_ENTRY
#define CAIRN_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

// A broken invariant is a crash, which is what libFuzzer and the regression
// test both report.
#define CAIRN_FUZZ_CHECK(cond)                                                               \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)
