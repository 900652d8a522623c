// Navigating a snapshot's trees by path, and walking them.
#pragma once

#include <functional>
#include <string>

#include "common/status.h"
#include "repo/repository.h"
#include "repo/snapshot.h"
#include "repo/tree.h"

namespace cairn {

// The node at path ("/" or "/usr/share") in the snapshot. "/" is a synthetic
// directory node whose subtree is the snapshot's root tree. NotFound names
// the path and the snapshot.
Result<Node> ResolvePath(const Repository& repo, BlobCodec& codec, const Snapshot& snap,
                         const std::string& path);

// Calls fn(path, node) for every node below dir (a directory node), depth
// first, in name order; paths are built on dir_path. fn returns false to not
// descend into a directory.
Status WalkTree(const Repository& repo, BlobCodec& codec, const Id& tree,
                const std::string& dir_path,
                const std::function<Result<bool>(const std::string& path, const Node& node)>& fn);

// Normalises a user-given snapshot path: leading '/', no trailing '/', no
// empty or "." components. ".." is rejected (InvalidArgument).
Result<std::string> NormalizeSnapshotPath(const std::string& path);

}  // namespace cairn
