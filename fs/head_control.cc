// JSON codec of the seal protocol (fs/head_control.h). The field names are
// the ones documented in man/cairn-seal.1 (JSON FIELDS): a script reading
// `cairn seal --json` sees exactly what the daemon sent.
//
// Rules, for both directions: ids are 64 hex digits, optional ids are null
// when absent (and a missing key reads as absent); times and durations are
// integers in nanoseconds; unknown keys are ignored so that an older client
// reads a newer daemon's answer; a missing key takes the struct's default;
// a key of the wrong type is InvalidArgument naming it.
#include "fs/head_control.h"

#include <nlohmann/json.hpp>

namespace cairn {

using nlohmann::json;

namespace {

// Names and bytes: head/ paths, tags and messages are bytes, so invalid
// UTF-8 is written with U+FFFD rather than failing the whole answer.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json OptionalId(const std::optional<Id>& id) { return id ? json(id->Hex()) : json(nullptr); }

// Reads the fields of one JSON object; the first wrong field is kept in
// status() and every later read is skipped.
class FieldReader {
 public:
  FieldReader(const json& j, std::string what) : j_(j), what_(std::move(what)) {}

  void Unsigned(const char* key, uint64_t* out) {
    const json* v = Find(key);
    if (!v) return;
    if (!v->is_number_unsigned()) return Wrong(key, "a non-negative integer", *v);
    *out = v->get<uint64_t>();
  }
  void Signed(const char* key, int64_t* out) {
    const json* v = Find(key);
    if (!v) return;
    if (!v->is_number_integer()) return Wrong(key, "an integer (nanoseconds)", *v);
    if (v->is_number_unsigned() && v->get<uint64_t>() > uint64_t{INT64_MAX}) {
      return Wrong(key, "an integer (nanoseconds)", *v);
    }
    *out = v->get<int64_t>();
  }
  void Bool(const char* key, bool* out) {
    const json* v = Find(key);
    if (!v) return;
    if (!v->is_boolean()) return Wrong(key, "true or false", *v);
    *out = v->get<bool>();
  }
  void String(const char* key, std::string* out) {
    const json* v = Find(key);
    if (!v) return;
    if (!v->is_string()) return Wrong(key, "a string", *v);
    *out = v->get<std::string>();
  }
  void Strings(const char* key, std::vector<std::string>* out) {
    const json* v = Find(key);
    if (!v) return;
    if (!v->is_array()) return Wrong(key, "an array of strings", *v);
    std::vector<std::string> r;
    for (const json& e : *v) {
      if (!e.is_string()) return Wrong(key, "an array of strings", *v);
      r.push_back(e.get<std::string>());
    }
    *out = std::move(r);
  }
  // required: a missing key is an error too (a null one always is).
  void RequiredId(const char* key, Id* out) {
    const json* v = Find(key);
    if (!v) {
      if (status_.ok()) status_ = Status::InvalidArgument(what_ + ": field \"" + key + "\" is missing");
      return;
    }
    std::optional<Id> id;
    ParseId(key, *v, &id);
    if (id) *out = *id;
  }
  void OptionalIdField(const char* key, std::optional<Id>* out) {
    const json* v = Find(key);
    if (!v || v->is_null()) return;
    ParseId(key, *v, out);
  }
  void Counters(const char* key, std::map<std::string, uint64_t>* out) {
    const json* v = Find(key);
    if (!v) return;
    if (!v->is_object()) return Wrong(key, "an object of counters", *v);
    std::map<std::string, uint64_t> r;
    for (const auto& [name, n] : v->items()) {
      if (!n.is_number_unsigned()) {
        return Wrong((std::string(key) + "." + name).c_str(), "a non-negative integer", n);
      }
      r[name] = n.get<uint64_t>();
    }
    *out = std::move(r);
  }

  const Status& status() const { return status_; }

 private:
  // nullptr when the key is absent or an earlier field was wrong.
  const json* Find(const char* key) const {
    if (!status_.ok()) return nullptr;
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }
  void ParseId(const char* key, const json& v, std::optional<Id>* out) {
    std::optional<Id> id;
    if (v.is_string() && v.get_ref<const std::string&>().size() == 2 * Id::kSize) {
      id = Id::FromHex(v.get_ref<const std::string&>());
    }
    if (!id) return Wrong(key, "a 64-hex-digit id", v);
    *out = id;
  }
  void Wrong(const char* key, const char* expected, const json& v) {
    status_ = Status::InvalidArgument(what_ + ": field \"" + key + "\" must be " + expected +
                                      ", not " + Shorten(Dump(v)));
  }
  static std::string Shorten(std::string s) {
    constexpr size_t kMax = 80;
    if (s.size() > kMax) s = s.substr(0, kMax) + "...";
    return s;
  }

  const json& j_;
  std::string what_;
  Status status_;
};

Result<json> ParseObject(const std::string& text, const std::string& what) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Err(Status::InvalidArgument(what + ": not a JSON object: " +
                                       (text.size() > 80 ? text.substr(0, 80) + "..." : text)));
  }
  return j;
}

}  // namespace

std::string EncodeSealRequest(const SealRequest& r) {
  return Dump({{"tags", r.tags}, {"message", r.message}});
}

std::string EncodeSealReport(const SealReport& r) {
  return Dump({
      {"snapshot", r.snapshot.Hex()},
      {"name", r.name},
      {"parent", OptionalId(r.parent)},
      {"files", r.files},
      {"dirs", r.dirs},
      {"others", r.others},
      {"files_new", r.files_new},
      {"files_changed", r.files_changed},
      {"files_unmodified", r.files_unmodified},
      {"bytes", r.bytes},
      {"bytes_read", r.bytes_read},
      {"stored_bytes_added", r.stored_bytes_added},
      {"trees_written", r.trees_written},
      {"skipped", r.skipped},
      {"duration_ns", r.duration_ns},
      {"leftover_temp_files", r.leftover_temp_files},
  });
}

std::string EncodeHeadStatus(const HeadStatus& s) {
  return Dump({
      {"series", s.series},
      {"base", OptionalId(s.base)},
      {"staged_bytes", s.staged_bytes},
      {"staging_limit", s.staging_limit},
      {"changed_entries", s.changed_entries},
      {"files_pending", s.files_pending},
      {"files_packed", s.files_packed},
      {"bytes_packed", s.bytes_packed},
      {"bytes_uploaded", s.bytes_uploaded},
      {"pack_error", s.pack_error},
      {"oldest_change_ns", s.oldest_change_ns},
      {"sealing", s.sealing},
      {"fuse_requests", s.fuse_requests},
  });
}

Result<SealRequest> DecodeSealRequest(const std::string& text) {
  const std::string what = "seal request";
  CAIRN_ASSIGN_OR_RETURN(json j, ParseObject(text, what));
  SealRequest r;
  FieldReader f(j, what);
  f.Strings("tags", &r.tags);
  f.String("message", &r.message);
  if (!f.status().ok()) return Err(f.status());
  return r;
}

Result<SealReport> DecodeSealReport(const std::string& text) {
  const std::string what = "seal report";
  CAIRN_ASSIGN_OR_RETURN(json j, ParseObject(text, what));
  SealReport r;
  FieldReader f(j, what);
  f.RequiredId("snapshot", &r.snapshot);
  f.String("name", &r.name);
  f.OptionalIdField("parent", &r.parent);
  f.Unsigned("files", &r.files);
  f.Unsigned("dirs", &r.dirs);
  f.Unsigned("others", &r.others);
  f.Unsigned("files_new", &r.files_new);
  f.Unsigned("files_changed", &r.files_changed);
  f.Unsigned("files_unmodified", &r.files_unmodified);
  f.Unsigned("bytes", &r.bytes);
  f.Unsigned("bytes_read", &r.bytes_read);
  f.Unsigned("stored_bytes_added", &r.stored_bytes_added);
  f.Unsigned("trees_written", &r.trees_written);
  f.Unsigned("skipped", &r.skipped);
  f.Signed("duration_ns", &r.duration_ns);
  f.Strings("leftover_temp_files", &r.leftover_temp_files);
  if (!f.status().ok()) return Err(f.status());
  return r;
}

Result<HeadStatus> DecodeHeadStatus(const std::string& text) {
  const std::string what = "head status";
  CAIRN_ASSIGN_OR_RETURN(json j, ParseObject(text, what));
  HeadStatus s;
  FieldReader f(j, what);
  f.String("series", &s.series);
  f.OptionalIdField("base", &s.base);
  f.Unsigned("staged_bytes", &s.staged_bytes);
  f.Unsigned("staging_limit", &s.staging_limit);
  f.Unsigned("changed_entries", &s.changed_entries);
  f.Unsigned("files_pending", &s.files_pending);
  f.Unsigned("files_packed", &s.files_packed);
  f.Unsigned("bytes_packed", &s.bytes_packed);
  f.Unsigned("bytes_uploaded", &s.bytes_uploaded);
  f.String("pack_error", &s.pack_error);
  f.Signed("oldest_change_ns", &s.oldest_change_ns);
  f.Bool("sealing", &s.sealing);
  f.Counters("fuse_requests", &s.fuse_requests);
  if (!f.status().ok()) return Err(f.status());
  return s;
}

}  // namespace cairn
