// Private to fs/archive_fs*.cc: how a stored entry is kept in the
// TreeCache (entry values, inode locators and bindings) and ArchiveFs's
// internal records. Not part of ArchiveFs's interface.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "cache/tree_cache.h"
#include "common/bytes.h"
#include "common/id.h"
#include "fs/archive_fs.h"
#include "repo/tree.h"

namespace cairn {

namespace archive_internal {

// Locator of a stored inode (TreeCache inodes table):
//   kind u8 (1 = stored snapshot entry; the head/ issue adds staged kinds)
//   | snapshot id (32) | parent inode fixed64 | parent tree id (32) | name
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

// Inode binding of a stored node below parent (see stored_entry.cc).
TreeCache::Binding MakeBinding(const Id& snap, uint64_t parent, const Id& parent_tree,
                               const Node& n, uint64_t ordinal);

inline constexpr std::string_view kSelinuxXattr = "security.selinux";
inline constexpr std::string_view kAclXattrPrefix = "system.posix_acl_";

// Entries decoded and bound per step of a stored readdir: small first (the
// kernel's readdirplus buffer takes ~25 entries), growing while the caller
// keeps taking them, so a call neither binds far more than it returns nor
// takes many small steps through a long listing.
inline constexpr size_t kReadDirFirstBatch = 32;
inline constexpr size_t kReadDirMaxBatch = 1024;

}  // namespace archive_internal

// What an inode is: a synthetic node of the view, or a stored node.
struct ArchiveFs::Resolved {
  uint64_t ino = 0;
  std::shared_ptr<const SnapshotView> view;  // keeps synth alive
  const SynthNode* synth = nullptr;
  Id snap;  // stored: the snapshot it belongs to
  uint64_t parent = 0;
  Id parent_tree;        // stored: the directory tree holding the entry
  uint64_t ordinal = 0;  // stored: its position in that directory
  Node node;
  uint64_t stored_bytes = 0;
};

// A directory whose entries come from a tree (snapshot roots and stored
// directories) or from the view (synthetic directories).
struct ArchiveFs::Dir {
  uint64_t ino = 0;
  std::shared_ptr<const SnapshotView> view;
  const SynthNode* synth = nullptr;  // synthetic
  Id snap, tree;                     // from a tree
  uint64_t parent = kRootIno;        // for ".."
};

}  // namespace cairn
