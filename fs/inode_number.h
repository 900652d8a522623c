// Inode numbers of the mount: which tree a number belongs to, and the
// stable hashed numbers of the layout and of stored entries.
//
//   bit 63      always 0: a number is never negative to a program that
//               stores it signed
//   bits 61-62  the kind of tree that owns it (TreeKind): the router picks
//               the tree from the number alone
//   bits 0-60   the tree's own: fixed (the root 1, the layout directories
//               2-5), hashed (HashIno: layout nodes, snapshot roots, stored
//               entries, never below 1 << 16), or allocated by the tree
//               itself (head/, so its numbers survive renames and links)
//
// A tree hands out numbers only in its own range (doc/semantics.md).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace cairn {

enum class TreeKind : uint8_t { kLayout = 0, kSnapshot = 1, kHead = 2 };
inline constexpr unsigned kTreeKinds = 4;  // values of the field (3: unused)
inline constexpr int kTreeKindShift = 61;
inline constexpr uint64_t kInoInTreeMask = (uint64_t{1} << kTreeKindShift) - 1;
// Below this (in any range): fixed numbers, never hashed to.
inline constexpr uint64_t kFirstHashedIno = uint64_t{1} << 16;

constexpr TreeKind KindOfIno(uint64_t ino) {
  return static_cast<TreeKind>((ino >> kTreeKindShift) & (kTreeKinds - 1));
}
// n's low 61 bits, in kind's range.
constexpr uint64_t InoOfKind(TreeKind kind, uint64_t n) {
  return (n & kInoInTreeMask) | (uint64_t{static_cast<uint8_t>(kind)} << kTreeKindShift);
}

// A stable hash of the parts (FNV-1a with a final mix) in kind's range,
// never below kFirstHashedIno within it.
uint64_t HashIno(TreeKind kind, std::initializer_list<std::string_view> parts);

}  // namespace cairn
