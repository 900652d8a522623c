// Human-readable output helpers shared by the commands.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "repo/snapshot.h"
#include "repo/tree.h"

namespace cairn {

std::string FormatBytes(uint64_t n);          // "1.5 GiB"
std::string FormatDuration(int64_t ns);       // "1m05s", "3.2s"
std::string FormatMode(const Node& n);        // "drwxr-xr-x"
// "1 file", "2 files": n and the noun, with an "s" unless n is 1.
std::string Count(uint64_t n, const std::string& noun);

// Prints rows as aligned columns (first row is the header) to stdout.
void PrintTable(const std::vector<std::vector<std::string>>& rows);

// JSON text with invalid UTF-8 replaced (names are bytes).
std::string DumpJson(const nlohmann::json& j);

nlohmann::json NodeJson(const std::string& path, const Node& n);
// A snapshot as `snapshots --json` shows it (also the first line of `ls --json`).
nlohmann::json SnapshotJson(const Snapshot& s);

}  // namespace cairn
