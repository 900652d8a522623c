#include "common/status.h"

namespace cairn {

Status Status::WithContext(std::string_view prefix) const {
  if (ok()) return *this;
  std::string m;
  m.reserve(prefix.size() + 2 + message_.size());
  m.append(prefix).append(": ").append(message_);
  return Status(code_, std::move(m));
}

}  // namespace cairn
