// This process's mappings of a file's pages (for LMDB maps: the pages a
// walk touched stay in the page cache but can leave the process's RSS), and
// its resident set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace cairn {

// This process's resident set in bytes (/proc/self/statm; a few
// microseconds), 0 when unknown.
uint64_t ResidentBytes();

// The shared mappings of one file, found once in /proc/self/maps (for an
// LMDB map: right after mdb_env_open; LMDB never moves its map while the
// map size stays). Empty (every call does nothing) when the file is not
// mapped. Thread-safe once constructed.
class FileMappings {
 public:
  FileMappings() = default;
  explicit FileMappings(const std::string& path);

  // madvise(MADV_DONTNEED) on every mapping: the file's data is untouched
  // (dirty pages of a writable shared map are kept in the page cache) and
  // the next access maps pages again. One madvise per mapping, a few
  // microseconds, cheap enough to call after every large operation.
  void Release() const;

  // madvise(MADV_NOHUGEPAGE) and madvise(MADV_RANDOM), for maps read by
  // scattered B-tree lookups. The page cache holds files in large folios
  // (up to 2 MiB); without NOHUGEPAGE a fault on a B-tree page may map the
  // whole folio (one PMD), so each scattered lookup adds 2 MiB to the RSS
  // instead of 4-64 KiB. RANDOM turns off readahead on the fault path (a
  // fault reads the one page, not a window of large folios); without it,
  // on this kernel (6.18, ext4), a cold `find` still mapped up to ~130 MiB
  // of the tree cache's writable map between two releases: the mount
  // daemon's peak on a 1,000,000-file snapshot fell from 135-225 MB to
  // ~90 MB, find no slower (26-31 s vs 29-38 s).
  void AdviseScatteredLookups() const;

 private:
  std::vector<std::pair<uintptr_t, size_t>> ranges_;
};

}  // namespace cairn
