#include "repo/snapshot.h"

#include <nlohmann/json.hpp>

#include "common/clock.h"

namespace cairn {

using nlohmann::json;

std::string SnapshotKey(const Id& id) { return "snapshots/" + id.Hex(); }

std::string SnapshotDirName(const Snapshot& s) {
  return FormatTime(s.time_ns) + "_" + s.id.Short();
}

Bytes EncodeSnapshot(const Snapshot& s) {
  const SnapshotStats& st = s.stats;
  json j = {
      {"time", FormatTime(s.time_ns, 9)},
      {"hostname", s.hostname},
      {"username", s.username},
      {"series", s.series},
      {"tags", s.tags},
      {"paths", s.paths},
      {"tree", s.tree.Hex()},
      {"program_version", s.program_version},
      {"stats",
       {{"files", st.files},
        {"dirs", st.dirs},
        {"others", st.others},
        {"bytes", st.bytes},
        {"files_new", st.files_new},
        {"files_changed", st.files_changed},
        {"files_unmodified", st.files_unmodified},
        {"data_blobs_added", st.data_blobs_added},
        {"tree_blobs_added", st.tree_blobs_added},
        {"bytes_read", st.bytes_read},
        {"raw_bytes_added", st.raw_bytes_added},
        {"stored_bytes_added", st.stored_bytes_added},
        {"errors", st.errors},
        {"duration_ns", st.duration_ns}}},
  };
  if (st.acl_entries) j["stats"]["acl_entries"] = *st.acl_entries;
  if (s.parent) j["parent"] = s.parent->Hex();
  if (s.retain_until_ns) j["retain_until"] = FormatTime(s.retain_until_ns);
  if (!s.message.empty()) j["message"] = s.message;
  // Paths are bytes; a non-UTF-8 path is stored with U+FFFD in place of the
  // invalid bytes (the tree keeps the exact names).
  return ToBytes(j.dump(-1, ' ', false, json::error_handler_t::replace));
}

Result<Snapshot> DecodeSnapshot(ByteView plaintext, const Id& id) {
  const std::string name = "snapshot " + id.Short();
  json j = json::parse(AsChars(plaintext), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Err(Status::Corruption(name + ": not JSON"));
  Snapshot s;
  s.id = id;
  try {
    auto t = ParseTime(j.at("time").get<std::string>());
    if (!t) return Err(Status::Corruption(name + ": bad time"));
    s.time_ns = *t;
    s.hostname = j.value("hostname", "");
    s.username = j.value("username", "");
    s.series = j.value("series", "");
    s.tags = j.value("tags", std::vector<std::string>{});
    s.paths = j.value("paths", std::vector<std::string>{});
    s.program_version = j.value("program_version", "");
    s.message = j.value("message", "");
    auto tree = Id::FromHex(j.at("tree").get<std::string>());
    if (!tree) return Err(Status::Corruption(name + ": bad tree id"));
    s.tree = *tree;
    if (j.contains("parent")) {
      auto p = Id::FromHex(j["parent"].get<std::string>());
      if (!p) return Err(Status::Corruption(name + ": bad parent id"));
      s.parent = *p;
    }
    if (j.contains("retain_until")) {
      if (auto r = ParseTime(j["retain_until"].get<std::string>())) s.retain_until_ns = *r;
    }
    if (j.contains("stats")) {
      const json& st = j["stats"];
      SnapshotStats& o = s.stats;
      o.files = st.value("files", uint64_t{0});
      o.dirs = st.value("dirs", uint64_t{0});
      o.others = st.value("others", uint64_t{0});
      o.bytes = st.value("bytes", uint64_t{0});
      o.files_new = st.value("files_new", uint64_t{0});
      o.files_changed = st.value("files_changed", uint64_t{0});
      o.files_unmodified = st.value("files_unmodified", uint64_t{0});
      o.data_blobs_added = st.value("data_blobs_added", uint64_t{0});
      o.tree_blobs_added = st.value("tree_blobs_added", uint64_t{0});
      o.bytes_read = st.value("bytes_read", uint64_t{0});
      o.raw_bytes_added = st.value("raw_bytes_added", uint64_t{0});
      o.stored_bytes_added = st.value("stored_bytes_added", uint64_t{0});
      o.errors = st.value("errors", uint64_t{0});
      o.duration_ns = st.value("duration_ns", int64_t{0});
      if (st.contains("acl_entries") && st["acl_entries"].is_number_unsigned()) {
        o.acl_entries = st["acl_entries"].get<uint64_t>();
      }
    }
  } catch (const json::exception& e) {
    return Err(Status::Corruption(name + ": " + e.what()));
  }
  return s;
}

}  // namespace cairn
