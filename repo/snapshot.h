// Snapshots: JSON, sealed (aad "cairn.snapshot"), stored under
// snapshots/<sha256 of the stored bytes>. Layout: doc/format.md, "Snapshots".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/id.h"
#include "common/status.h"

namespace cairn {

struct SnapshotStats {
  uint64_t files = 0;             // regular files in the snapshot
  uint64_t dirs = 0;
  uint64_t others = 0;            // symlinks, devices, fifos, sockets
  uint64_t bytes = 0;             // logical size of all files
  uint64_t files_new = 0;
  uint64_t files_changed = 0;
  uint64_t files_unmodified = 0;
  uint64_t data_blobs_added = 0;
  uint64_t tree_blobs_added = 0;
  uint64_t bytes_read = 0;        // file bytes read from the source
  uint64_t raw_bytes_added = 0;   // plaintext of new blobs
  uint64_t stored_bytes_added = 0;  // bytes of new packs (after compression)
  uint64_t errors = 0;            // entries skipped
  // Entries carrying a POSIX ACL (system.posix_acl_access or _default).
  // Unknown (empty) in snapshots written before cairn recorded it; the
  // mount answers "not supported" for the ACLs of a snapshot with none
  // (doc/semantics.md), so `ls -l` stops asking for every file.
  std::optional<uint64_t> acl_entries;
  int64_t duration_ns = 0;
};

struct Snapshot {
  Id id;  // storage id; not part of the encoding
  int64_t time_ns = 0;
  std::string hostname;
  std::string username;
  std::string series;
  std::vector<std::string> tags;
  std::vector<std::string> paths;  // absolute, as given
  std::optional<Id> parent;
  Id tree;  // root tree blob
  SnapshotStats stats;
  std::string program_version;
  int64_t retain_until_ns = 0;  // 0: none
  // Free text given by `cairn seal --message`; empty: none. Stored only
  // when set, so snapshots without one encode as before.
  std::string message;
};

Bytes EncodeSnapshot(const Snapshot& s);
// Corruption naming `name` when the JSON is not a snapshot.
Result<Snapshot> DecodeSnapshot(ByteView plaintext, const Id& id);

std::string SnapshotKey(const Id& id);  // "snapshots/<hex>"
// Directory name in listings and the mount: "2026-11-23T05:21:06Z_ab12cd34".
std::string SnapshotDirName(const Snapshot& s);

}  // namespace cairn
