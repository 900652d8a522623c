// What `cairn seal` asks of the mount daemon and what the daemon answers,
// as one line of JSON each on the control channel (fs/control_channel.h):
//
//   seal <SealRequest JSON>   -> ok <SealReport JSON>
//   head-status               -> ok <HeadStatus JSON>
//
// The JSON field names are the ones `cairn seal --json` and
// `cairn seal --status --json` print (man/cairn-seal.1), so a script sees
// the daemon's answer unchanged.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/id.h"
#include "common/status.h"

namespace cairn {

struct SealRequest {
  std::vector<std::string> tags;
  std::string message;
  bool operator==(const SealRequest&) const = default;
};

struct SealReport {
  Id snapshot;               // the new snapshot
  std::string name;          // its directory name in snapshots/
  std::optional<Id> parent;  // the snapshot head/ started from
  uint64_t files = 0, dirs = 0, others = 0;
  uint64_t files_new = 0, files_changed = 0, files_unmodified = 0;
  uint64_t bytes = 0;               // logical size of all files
  uint64_t bytes_read = 0;          // bytes of staged or changed files chunked by the seal
  uint64_t stored_bytes_added = 0;  // bytes of new packs
  uint64_t trees_written = 0;       // directories encoded (others kept their tree)
  uint64_t skipped = 0;             // entries left out (each in the daemon's log)
  int64_t duration_ns = 0;
  // Leftover rsync temporaries (".name.XXXXXX" from a killed rsync),
  // head/ paths; they are in the snapshot like any other file.
  std::vector<std::string> leftover_temp_files;
  bool operator==(const SealReport&) const = default;
};

struct HeadStatus {
  std::string series;
  std::optional<Id> base;         // the snapshot head/ continues from
  uint64_t staged_bytes = 0;      // data written and not yet stored
  uint64_t staging_limit = 0;     // --staging-size (0: only the disk)
  uint64_t changed_entries = 0;   // entries differing from the base
  // Files with new content: not packed yet (the background packer or the
  // seal still has to read them) and packed in the background (the seal
  // takes their blobs as they are).
  uint64_t files_pending = 0;
  uint64_t files_packed = 0;
  // Since the last seal: logical bytes of files packed in the background,
  // and bytes of the packs it stored (uploaded).
  uint64_t bytes_packed = 0;
  uint64_t bytes_uploaded = 0;
  std::string pack_error;         // the background packer's last store error ("": none)
  int64_t oldest_change_ns = 0;   // time of the oldest unsealed change (0: none)
  bool sealing = false;           // a seal is running
  // FUSE requests served by the head/ mount, by operation ("lookup",
  // "write", ...).
  std::map<std::string, uint64_t> fuse_requests;
  bool operator==(const HeadStatus&) const = default;
};

std::string EncodeSealRequest(const SealRequest& r);
std::string EncodeSealReport(const SealReport& r);
std::string EncodeHeadStatus(const HeadStatus& s);
// InvalidArgument naming what is wrong when text is not such a JSON object.
Result<SealRequest> DecodeSealRequest(const std::string& text);
Result<SealReport> DecodeSealReport(const std::string& text);
Result<HeadStatus> DecodeHeadStatus(const std::string& text);

}  // namespace cairn
