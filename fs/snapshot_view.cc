#include "fs/snapshot_view.h"

#include <algorithm>
#include <map>

namespace cairn {

uint64_t HashIno(TreeKind kind, std::initializer_list<std::string_view> parts) {
  uint64_t h = 14695981039346656037ull;
  for (std::string_view p : parts) {
    for (unsigned char c : p) {
      h ^= c;
      h *= 1099511628211ull;
    }
    h ^= 0xff;  // separator, so ("ab","c") differs from ("a","bc")
    h *= 1099511628211ull;
  }
  // splitmix64 finaliser: FNV's low bits are weak on similar inputs.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  h &= kInoInTreeMask;
  if (h < kFirstHashedIno) h += kFirstHashedIno;
  return InoOfKind(kind, h);
}

std::string LayoutName(std::string_view key) {
  if (key.empty()) return "%00";
  if (key == ".") return "%2E";
  if (key == "..") return "%2E%2E";
  std::string out;
  for (char c : key) {
    if (c == '/') {
      out += "%2F";
    } else if (c == '%') {
      out += "%25";
    } else {
      out += c;
    }
  }
  return out;
}

uint64_t SnapshotRootIno(const Id& snap) { return HashIno(TreeKind::kSnapshot, {"snapshot", AsChars(snap.view())}); }

namespace {

void AddDir(SnapshotView& v, uint64_t ino, std::string name, uint64_t parent, int64_t mtime) {
  SynthNode& n = v.nodes[ino];
  n.kind = SynthNode::kDir;
  n.name = std::move(name);
  n.parent = parent;
  n.mtime_ns = mtime;
}

void AddLink(SnapshotView& v, uint64_t ino, std::string name, uint64_t parent,
             std::string target, int64_t mtime) {
  SynthNode& n = v.nodes[ino];
  n.kind = SynthNode::kSymlink;
  n.name = name;
  n.parent = parent;
  n.target = std::move(target);
  n.mtime_ns = mtime;
  v.nodes[parent].children.emplace_back(std::move(name), ino);
}

// series/, hosts/ or tags/: one directory per key holding a symlink per
// snapshot and `latest`.
void AddGroups(SnapshotView& v, uint64_t top, std::string_view kind,
               const std::map<std::string, std::vector<size_t>>& groups) {
  for (const auto& [key, idx] : groups) {
    uint64_t dir = HashIno(TreeKind::kLayout, {kind, key});
    const Snapshot& newest = v.snaps[idx.back()];
    AddDir(v, dir, LayoutName(key), top, newest.time_ns);
    v.nodes[top].children.emplace_back(LayoutName(key), dir);
    for (size_t i : idx) {
      const Snapshot& s = v.snaps[i];
      std::string name = SnapshotDirName(s);
      AddLink(v, HashIno(TreeKind::kLayout, {kind, key, AsChars(s.id.view())}), name, dir,
              "../../snapshots/" + name, s.time_ns);
    }
    AddLink(v, HashIno(TreeKind::kLayout, {kind, key, "latest", AsChars(newest.id.view())}), "latest", dir,
            "../../snapshots/" + SnapshotDirName(newest), newest.time_ns);
  }
}

}  // namespace

SnapshotView BuildSnapshotView(std::vector<Snapshot> snaps) {
  SnapshotView v;
  std::stable_sort(snaps.begin(), snaps.end(),
                   [](const Snapshot& a, const Snapshot& b) { return a.time_ns < b.time_ns; });
  v.snaps = std::move(snaps);
  const int64_t newest = v.snaps.empty() ? 0 : v.snaps.back().time_ns;
  AddDir(v, 1, "", 1, newest);
  AddDir(v, kSnapshotsIno, "snapshots", 1, newest);
  AddDir(v, kSeriesIno, "series", 1, newest);
  AddDir(v, kHostsIno, "hosts", 1, newest);
  AddDir(v, kTagsIno, "tags", 1, newest);
  v.nodes[1].children = {{"hosts", kHostsIno},
                         {"series", kSeriesIno},
                         {"snapshots", kSnapshotsIno},
                         {"tags", kTagsIno}};
  std::map<std::string, std::vector<size_t>> series, hosts, tags;
  for (size_t i = 0; i < v.snaps.size(); ++i) {
    const Snapshot& s = v.snaps[i];
    v.by_id[s.id] = i;
    v.stats.files += s.stats.files + s.stats.dirs + s.stats.others;
    std::string name = SnapshotDirName(s);
    uint64_t ino = SnapshotRootIno(s.id);
    SynthNode& n = v.nodes[ino];
    n.kind = SynthNode::kSnapshotRoot;
    n.name = name;
    n.parent = kSnapshotsIno;
    n.mtime_ns = s.time_ns;
    n.snap = i;
    v.nodes[kSnapshotsIno].children.emplace_back(name, ino);
    if (!s.series.empty()) series[s.series].push_back(i);
    if (!s.hostname.empty()) hosts[s.hostname].push_back(i);
    for (const auto& t : s.tags) {
      if (tags[t].empty() || tags[t].back() != i) tags[t].push_back(i);
    }
  }
  if (!v.snaps.empty()) {
    AddLink(v, HashIno(TreeKind::kLayout, {"latest", AsChars(v.snaps.back().id.view())}), "latest", kSnapshotsIno,
            SnapshotDirName(v.snaps.back()), newest);
  }
  AddGroups(v, kSeriesIno, "series", series);
  AddGroups(v, kHostsIno, "hosts", hosts);
  AddGroups(v, kTagsIno, "tags", tags);
  for (auto& [ino, n] : v.nodes) {
    std::sort(n.children.begin(), n.children.end());
  }
  return v;
}

}  // namespace cairn
