#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.h"

namespace cairn {

std::string ToHex(ByteView b);
// Lowercase or uppercase hex; nullopt on odd length or a non-hex character.
std::optional<Bytes> FromHex(std::string_view s);

}  // namespace cairn
