// Key files: keys/<sha256 of the file>, JSON holding scrypt parameters, a
// salt and the MasterKeys sealed with the password-derived key (AES-256-GCM,
// aad "cairn.key"). Several key files may wrap the same master keys, one per
// password. Layout: doc/format.md, "Keys".
#pragma once

#include <string>

#include "common/bytes.h"
#include "common/id.h"
#include "common/status.h"
#include "repo/crypto.h"

namespace cairn {

struct KeyInfo {
  Id id;
  int64_t created_ns = 0;
  std::string hostname;
  std::string username;
  ScryptParams kdf;
};

// A new key file for keys wrapped under password.
// InvalidArgument when scrypt rejects the parameters.
Result<Bytes> CreateKeyFile(const MasterKeys& keys, std::string_view password,
                            const ScryptParams& kdf);
// WrongPassword when the password does not open the file; Corruption when
// it is not a key file.
Result<MasterKeys> OpenKeyFile(ByteView file, std::string_view password, const std::string& name);
// Metadata without the password.
Result<KeyInfo> ReadKeyInfo(ByteView file, const std::string& name);

std::string KeyKey(const Id& id);  // "keys/<hex>"

}  // namespace cairn
