// TreeCache: decoded directories and the mount's inode table, in their own
// LMDB environment under <cache dir>/trees: lookups and readdir come from
// decoded trees in LMDB, not from re-reading blobs (doc/semantics.md,
// "Directories and memory"). Like CacheDb it is rebuilt from the store when
// lost, so it runs with MDB_NOSYNC.
//
// The cache layer does not know what a tree node is: entry values and inode
// records are opaque bytes that fs/ encodes. Tables:
//   dirs     root tree id (32) -> fixed64 entry count. Present only once
//            every entry of the directory is in `entries` and `names`.
//   entries  root tree id (32) | ordinal (big-endian u64) ->
//            length-prefixed name | value. Ordinals are 0.. in name order,
//            so readdir resumes at any offset with one cursor seek.
//   names    root tree id (32) | name -> ordinal (fixed64): lookup is one
//            B-tree descent on disk pages, whatever the directory's size.
//   inodes   inode number (big-endian u64) -> length-prefixed identity |
//            locator. The identity says which entry owns the number (two
//            entries never share one unless their identities are equal,
//            e.g. the links of one hardlink group); the locator says where
//            to find it. Numbers persist, so they are stable across
//            remounts, and nothing grows in RAM with the tree. fs/ gives
//            one directory's entries consecutive preferred numbers, so its
//            records share pages.
//
// Thread safety: every method may be called from any thread (MDB_NOTLS;
// LMDB serialises writers).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/id.h"
#include "common/mapped_pages.h"
#include "common/status.h"

struct MDB_env;

namespace cairn {

class TreeCache {
 public:
  // Opens (creating) the environment in dir.
  static Result<std::unique_ptr<TreeCache>> Open(const std::string& dir,
                                                 uint64_t map_size = uint64_t{1} << 36);
  ~TreeCache();
  TreeCache(const TreeCache&) = delete;
  TreeCache& operator=(const TreeCache&) = delete;

  // Drops this process's mappings of the database pages it touched
  // (madvise MADV_DONTNEED on the shared map; the data stays in the file
  // and the page cache, and the next access maps it again). Without it a
  // walk of a million entries shows the whole database in the daemon's RSS.
  void ReleaseMappedPages() const;

  // --- decoded directories ---
  // Entry count of a fully decoded directory; empty when not decoded.
  std::optional<uint64_t> DirCount(const Id& tree) const;

  // Stores a whole directory in one transaction: produce calls add(name,
  // value) for every entry in name order; the directory is marked decoded
  // only when produce succeeds, so a failed decode leaves no partial table.
  using AddEntryFn = std::function<Status(std::string_view name, ByteView value)>;
  Status PutDir(const Id& tree, const std::function<Status(const AddEntryFn& add)>& produce);

  struct Entry {
    uint64_t ordinal = 0;
    std::string name;
    Bytes value;
  };
  // The entry called name; empty when absent (or the directory not decoded).
  std::optional<Entry> FindName(const Id& tree, std::string_view name) const;
  // Calls fn for entries with ordinal >= from, in order, until fn returns
  // false or the directory ends.
  Status ScanDir(const Id& tree, uint64_t from,
                 const std::function<bool(uint64_t ordinal, std::string_view name,
                                          ByteView value)>& fn) const;

  // --- inode table ---
  struct Binding {
    uint64_t wanted = 0;  // preferred number (fs/: directory base + ordinal)
    Bytes identity;       // who owns the number
    Bytes locator;        // stored with it on first binding
    uint64_t ino = 0;     // out: the number bound
  };
  static constexpr uint64_t kFirstDynamicIno = 1 << 16;  // below: fs/'s fixed inodes
  // Binds each binding's identity to a number: the number already bound to
  // that identity when it probes to one, else the first free number from
  // `wanted` on (linear probing, so a collision costs the later entry its
  // preferred number, deterministically for a given order of first use).
  // Reads first; opens a write transaction only for new bindings.
  Status Bind(std::span<Binding> bindings);
  // The locator bound to ino; empty when ino is unknown.
  std::optional<Bytes> Locator(uint64_t ino) const;

 private:
  TreeCache(MDB_env* env, unsigned dirs, unsigned entries, unsigned names, unsigned inodes)
      : env_(env),
        dirs_(dirs),
        entries_(entries),
        names_(names),
        inodes_(inodes) {}

  MDB_env* env_;
  unsigned dirs_, entries_, names_, inodes_;  // MDB_dbi handles
  FileMappings map_;  // env_'s map of data.mdb
};

}  // namespace cairn
