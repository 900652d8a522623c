#include "repo/tree_walk.h"

namespace cairn {

Result<std::string> NormalizeSnapshotPath(const std::string& path) {
  std::string out;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    std::string comp = path.substr(pos, slash - pos);
    pos = slash + 1;
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") return Err(Status::InvalidArgument("path " + path + ": \"..\" is not allowed"));
    out += "/" + comp;
  }
  return out.empty() ? std::string("/") : out;
}

Result<Node> ResolvePath(const Repository& repo, BlobCodec& codec, const Snapshot& snap,
                         const std::string& path) {
  CAIRN_ASSIGN_OR_RETURN(std::string norm, NormalizeSnapshotPath(path));
  Node node;
  node.type = NodeType::kDir;
  node.name = "/";
  node.mode = 0755;
  node.mtime_ns = node.ctime_ns = node.atime_ns = snap.time_ns;
  node.subtree = snap.tree;
  size_t pos = 1;
  while (pos < norm.size()) {
    size_t slash = norm.find('/', pos);
    if (slash == std::string::npos) slash = norm.size();
    std::string comp = norm.substr(pos, slash - pos);
    std::string so_far = norm.substr(0, slash);
    pos = slash + 1;
    if (node.type != NodeType::kDir) {
      return Err(Status::NotFound(so_far + ": not a directory in snapshot " + snap.id.Short()));
    }
    bool found = false;
    Status s = ForEachNode(node.subtree, repo.TreeLoader(codec), [&](Node&& n) {
      if (!found && n.name == comp) {
        node = std::move(n);
        found = true;
      }
      return Status::OK();
    });
    CAIRN_RETURN_IF_ERROR(s);
    if (!found) {
      return Err(Status::NotFound(so_far + ": no such file or directory in snapshot " +
                                  snap.id.Short()));
    }
  }
  return node;
}

Status WalkTree(const Repository& repo, BlobCodec& codec, const Id& tree,
                const std::string& dir_path,
                const std::function<Result<bool>(const std::string&, const Node&)>& fn) {
  return ForEachNode(tree, repo.TreeLoader(codec), [&](Node&& n) -> Status {
    std::string p = dir_path == "/" ? "/" + n.name : dir_path + "/" + n.name;
    CAIRN_ASSIGN_OR_RETURN(bool descend, fn(p, n));
    if (descend && n.type == NodeType::kDir) {
      CAIRN_RETURN_IF_ERROR(WalkTree(repo, codec, n.subtree, p, fn));
    }
    return Status::OK();
  });
}

}  // namespace cairn
