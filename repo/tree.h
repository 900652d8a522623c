// Trees: one per directory, entries (Nodes) sorted by name as bytes.
// A directory is stored as one tree blob ("leaf") or, when large, as several
// leaves under one or more "index" tree blobs, so no tree blob is unbounded.
// Encoding is deterministic: the same entries always give the same blobs,
// hence the same ids, so an unchanged directory costs nothing to store again.
// Byte layout: doc/format.md, "Tree blobs".
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/id.h"
#include "common/status.h"

namespace cairn {

enum class NodeType : uint8_t {
  kFile = 0,
  kDir = 1,
  kSymlink = 2,
  kFifo = 3,
  kSocket = 4,
  kCharDev = 5,
  kBlockDev = 6,
};
std::string_view NodeTypeName(NodeType t);  // "file", "dir", "symlink", ...

// A run of a file's content: a data blob of `length` plaintext bytes, or a
// hole (a sparse region that reads as zeros and is not stored).
struct Extent {
  Id blob;  // unused for holes
  uint64_t length = 0;
  bool hole = false;
  bool operator==(const Extent&) const = default;
};

struct Xattr {
  std::string name;   // e.g. "user.comment", "system.posix_acl_access"
  std::string value;  // raw bytes
  bool operator==(const Xattr&) const = default;
};

struct Node {
  std::string name;  // bytes, not necessarily UTF-8; never empty, no '/'
  NodeType type = NodeType::kFile;
  uint32_t mode = 0;  // permission bits incl. setuid/setgid/sticky (mask 07777)
  uint32_t uid = 0, gid = 0;
  std::string user, group;  // names at backup time; empty when unknown
  uint64_t size = 0;        // files: content length; symlinks: target length
  int64_t mtime_ns = 0, ctime_ns = 0, atime_ns = 0;
  uint64_t device = 0, inode = 0;  // identity at backup time (hardlinks, change detection)
  uint32_t nlink = 1;              // > 1: a hardlink group shared by (device, inode)
  uint64_t rdev = 0;               // char/block devices
  std::string symlink_target;      // bytes
  std::vector<Xattr> xattrs;       // sorted by name; POSIX ACLs as system.posix_acl_*
  std::vector<Extent> content;     // files: extents in order, lengths sum to size
  Id sha256;                       // files: SHA-256 of the whole content
  Id subtree;                      // dirs: root tree blob of the directory

  bool operator==(const Node&) const = default;
};

// A leaf holds nodes; an index holds references to child tree blobs (leaves
// or lower indexes), in name order.
struct TreeRef {
  std::string first_name;  // name of the first node under the child
  Id id;
  uint64_t count = 0;  // nodes under the child
  bool operator==(const TreeRef&) const = default;
};

struct TreeBlob {
  bool is_index = false;
  std::vector<Node> nodes;       // leaf
  std::vector<TreeRef> children; // index
};

// Leaf splitting (content-defined, so inserting one entry into a huge
// directory changes one or two leaves, not all that follow):
// a directory of <= kSingleLeafMax nodes is one leaf; otherwise a leaf ends
// after a node when it holds >= kLeafMin nodes and the low 12 bits of
// FNV-1a-64(name) are zero, or when it holds kLeafMax nodes. An index blob
// holds at most kLeafMax refs; more make another index level.
inline constexpr size_t kSingleLeafMax = 8192;
inline constexpr size_t kLeafMin = 2048;
inline constexpr size_t kLeafMax = 16384;

Bytes EncodeTreeBlob(const TreeBlob& blob);
// Corruption when the bytes are not a valid tree blob (never crashes,
// whatever the input).
Result<TreeBlob> DecodeTreeBlob(ByteView data);

// Stores the tree blobs of a directory whose nodes are sorted by name and
// unique (InvalidArgument otherwise) and returns the root blob's id. store
// saves one tree blob's plaintext and returns its id.
using TreeStoreFn = std::function<Result<Id>(Bytes plaintext)>;
Result<Id> WriteTree(std::span<const Node> nodes, const TreeStoreFn& store);

// Loads a tree blob's plaintext by id.
using TreeLoadFn = std::function<Result<Bytes>(const Id& id)>;
// Calls fn for every node of the directory rooted at root, in name order.
Status ForEachNode(const Id& root, const TreeLoadFn& load, const std::function<Status(Node&&)>& fn);
Result<std::vector<Node>> ReadTree(const Id& root, const TreeLoadFn& load);

}  // namespace cairn
