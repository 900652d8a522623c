// Private to fs/snapshot_tree*.cc: how a stored entry is kept in the
// TreeCache (entry values, inode locators and bindings). Not part of
// SnapshotTree's interface.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "cache/tree_cache.h"
#include "common/bytes.h"
#include "common/id.h"
#include "repo/tree.h"

namespace cairn {

namespace stored_entry {

// Locator of a stored inode (TreeCache inodes table), see stored_entry.cc.
struct Locator {
  Id snap;
  uint64_t parent = 0;
  Id parent_tree;
  std::string name;
};

Bytes EncodeLocator(const Id& snap, uint64_t parent, const Id& parent_tree,
                    std::string_view name);
std::optional<Locator> DecodeLocator(ByteView b);

// A decoded entry in TreeCache: stored bytes fixed64 | a one-node tree leaf.
Bytes EncodeEntry(const Node& n, uint64_t stored_bytes);
Result<std::pair<Node, uint64_t>> DecodeEntry(ByteView v, std::string_view name);

uint32_t TypeBits(NodeType t);

// Inode binding of a stored node below parent (see stored_entry.cc); the
// number bound is in the snapshot tree's range unless the cache is damaged
// (CheckBound).
TreeCache::Binding MakeBinding(const Id& snap, uint64_t parent, const Id& parent_tree,
                               const Node& n, uint64_t ordinal);

// OK when every number bound (by TreeCache::Bind) is in the snapshot
// tree's range; Corruption otherwise (a damaged inode table).
Status CheckBound(std::span<const TreeCache::Binding> bs);

inline constexpr std::string_view kSelinuxXattr = "security.selinux";
inline constexpr std::string_view kAclXattrPrefix = "system.posix_acl_";

// Entries decoded and bound per step of a stored readdir: small first (the
// kernel's readdirplus buffer takes ~25 entries), growing while the caller
// keeps taking them, so a call neither binds far more than it returns nor
// takes many small steps through a long listing.
inline constexpr size_t kReadDirFirstBatch = 32;
inline constexpr size_t kReadDirMaxBatch = 1024;

}  // namespace stored_entry

}  // namespace cairn
