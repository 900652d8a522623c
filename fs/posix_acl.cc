#include "fs/posix_acl.h"

#include <cstring>

namespace cairn {

namespace {

constexpr uint32_t kVersion = 2;
constexpr uint16_t kUserObj = 0x01, kUser = 0x02, kGroupObj = 0x04, kGroup = 0x08,
                   kMask = 0x10, kOther = 0x20;
constexpr size_t kHeader = 4, kEntry = 8;

uint16_t Get16(const char* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;  // little-endian host (x86-64, arm64)
}

bool WellFormed(std::string_view v) {
  if (v.size() < kHeader || (v.size() - kHeader) % kEntry != 0) return false;
  uint32_t version;
  std::memcpy(&version, v.data(), 4);
  return version == kVersion;
}

}  // namespace

std::optional<AclMode> ModeOfAcl(std::string_view v) {
  if (!WellFormed(v)) return std::nullopt;
  int user_obj = -1, group_obj = -1, mask = -1, other = -1;
  bool named = false;
  for (size_t off = kHeader; off < v.size(); off += kEntry) {
    const uint16_t tag = Get16(v.data() + off), perm = Get16(v.data() + off + 2) & 7;
    switch (tag) {
      case kUserObj: user_obj = perm; break;
      case kGroupObj: group_obj = perm; break;
      case kMask: mask = perm; break;
      case kOther: other = perm; break;
      case kUser:
      case kGroup: named = true; break;
      default: return std::nullopt;
    }
  }
  if (user_obj < 0 || group_obj < 0 || other < 0) return std::nullopt;
  AclMode m;
  const int group = mask >= 0 ? mask : group_obj;
  m.bits = static_cast<uint32_t>(user_obj << 6 | group << 3 | other);
  m.equivalent = !named && mask < 0;
  return m;
}

std::string AclWithMode(std::string_view v, uint32_t mode) {
  std::string out(v);
  if (!WellFormed(v)) return out;
  bool has_mask = false;
  for (size_t off = kHeader; off < v.size(); off += kEntry) {
    if (Get16(v.data() + off) == kMask) has_mask = true;
  }
  for (size_t off = kHeader; off < out.size(); off += kEntry) {
    const uint16_t tag = Get16(out.data() + off);
    int shift = -1;
    if (tag == kUserObj) shift = 6;
    if (tag == kMask || (tag == kGroupObj && !has_mask)) shift = 3;
    if (tag == kOther) shift = 0;
    if (shift < 0) continue;
    const uint16_t perm = static_cast<uint16_t>((mode >> shift) & 7);
    std::memcpy(out.data() + off + 2, &perm, 2);
  }
  return out;
}

}  // namespace cairn
