// ListingPolicy: whether a directory listing carries the attributes of the
// files in it, or only their names, types and inode numbers.
//
// A READDIRPLUS entry with attributes makes the kernel create an inode and
// a dentry for it. That is what `ls -l`, tar, du, rsync and cp want (they
// stat every entry: one LOOKUP round trip each otherwise, ~38 us), and what
// find, plain ls, fd and updatedb do not: they only need the names and
// d_type, plus the inodes of the subdirectories they descend into. For a
// cold `find` of 83k files in 13k directories, creating the 70k file inodes
// cost 0.6 s of 2.5 s.
//
// So the mount guesses from what the walker does, like the kernel's own
// readdirplus_auto does for one directory at a time:
//   - listings start without file attributes (subdirectories and the dot
//     entries always carry theirs);
//   - a LOOKUP of a file (someone stats files the listing did not give
//     attributes for, or opens one by path) switches to listings with file
//     attributes for the next kWindow listings;
//   - while they are on, one listing in kProbeEvery still goes without, as
//     a probe: a walker that stats files looks some of its files up and so
//     keeps them on; once nobody has for kWindow listings, they stop.
// A stat-everything walk thus pays LOOKUPs for its first directory and for
// 1 in kProbeEvery of the rest; a name-only walk pays nothing after the
// first kWindow listings. ArchiveFs also gives attributes to every entry of
// a directory too large for one readdir batch (`ls -l` of 100,000 entries
// must not cost 100,000 LOOKUPs).
//
// Thread safety: all methods may be called concurrently (relaxed atomics:
// a guess, not a guarantee).
#pragma once

#include <atomic>
#include <cstdint>

namespace cairn {

class ListingPolicy {
 public:
  static constexpr uint64_t kWindow = 256;
  static constexpr uint64_t kProbeEvery = 64;

  // A listing from the start of a directory begins: whether its file
  // entries should carry attributes.
  bool StartListing() {
    const uint64_t n = listings_.fetch_add(1, std::memory_order_relaxed) + 1;
    const bool with = Active(n) && n % kProbeEvery != 0;
    (with ? with_ : without_).fetch_add(1, std::memory_order_relaxed);
    return with;
  }
  // A later batch of a listing begun earlier (not counted; never a probe).
  bool Continuing() const { return Active(listings_.load(std::memory_order_relaxed)); }
  // A stored file (not a directory) was looked up by name.
  void FileLookedUp() {
    last_lookup_.store(listings_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }

  // Listings begun with and without file attributes (logged at unmount).
  uint64_t with_attributes() const { return with_.load(std::memory_order_relaxed); }
  uint64_t without_attributes() const { return without_.load(std::memory_order_relaxed); }

 private:
  bool Active(uint64_t n) const {
    const uint64_t last = last_lookup_.load(std::memory_order_relaxed);  // 0: never
    return last != 0 && n + 1 >= last && n + 1 - last < kWindow;
  }

  std::atomic<uint64_t> listings_{0};
  std::atomic<uint64_t> last_lookup_{0};  // listings_ + 1 at the last file lookup
  std::atomic<uint64_t> with_{0}, without_{0};
};

}  // namespace cairn
