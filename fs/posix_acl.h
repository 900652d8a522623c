// POSIX ACLs as Linux passes them in the xattr system.posix_acl_access:
// little-endian u32 version 2, then entries of (u16 tag, u16 perm, u32 id).
// head/ keeps a file's mode and its access ACL in step the way the kernel
// does for a local file system (posix_acl_update_mode, posix_acl_chmod):
// rsync -A compares both.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cairn {

struct AclMode {
  uint32_t bits = 0;        // rwxrwxrwx: owner, mask (else group), other
  bool equivalent = false;  // only owner, group and other entries: the
                            // mode says everything, no ACL needs storing
};

// The permission bits an access ACL implies; nullopt when value is not a
// well-formed ACL (it is then stored as it came, and the mode left alone).
std::optional<AclMode> ModeOfAcl(std::string_view value);

// value with its owner, mask (else group) and other entries set from mode's
// permission bits; value unchanged when it is not a well-formed ACL.
std::string AclWithMode(std::string_view value, uint32_t mode);

}  // namespace cairn
