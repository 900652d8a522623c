#include "common/id.h"

#include <algorithm>

#include "common/hex.h"

namespace cairn {

Id Id::FromView(ByteView b) {
  Id id;
  std::memcpy(id.bytes.data(), b.data(), std::min(b.size(), kSize));
  return id;
}

std::optional<Id> Id::FromHex(std::string_view hex) {
  if (hex.size() != 2 * kSize) return std::nullopt;
  auto b = cairn::FromHex(hex);
  if (!b) return std::nullopt;
  return FromView(*b);
}

std::string Id::Hex() const { return ToHex(view()); }

bool Id::IsZero() const {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

}  // namespace cairn
