#pragma once
// Fixed master keys for tests that need reproducible ciphertext.

#include <cstddef>
#include <cstdint>

#include "repo/crypto.h"

namespace cairn::test {

inline MasterKeys FixedKeys(uint8_t seed) {
  MasterKeys k;
  for (size_t i = 0; i < k.encryption.size(); ++i) {
    k.encryption[i] = static_cast<uint8_t>(seed + i);
    k.mac[i] = static_cast<uint8_t>(seed * 3 + i);
  }
  return k;
}

}  // namespace cairn::test
