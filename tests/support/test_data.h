#pragma once
// Deterministic test data shared by the unit tests, so that no test file
// carries its own generator (and unity builds see one definition).

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/bytes.h"
#include "common/id.h"

namespace cairn::test {

// n incompressible bytes (xorshift64): the same (n, seed) gives the same
// bytes in every test and on every run.
inline std::string RandomString(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  uint64_t x = seed * 2654435761u + 88172645463325252ull;
  for (auto& c : s) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    c = static_cast<char>(x);
  }
  return s;
}

inline Bytes RandomBytes(size_t n, uint64_t seed) {
  const std::string s = RandomString(n, seed);
  return Bytes(s.begin(), s.end());
}

// An id whose every byte is b (readable in failure messages).
inline Id FilledId(uint8_t b) {
  Id id;
  id.bytes.fill(b);
  return id;
}

}  // namespace cairn::test
