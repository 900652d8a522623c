#include "repo/tree.h"

#include <algorithm>

#include "common/coding.h"

namespace cairn {

namespace {

constexpr uint8_t kTreeVersion = 1;
constexpr uint8_t kKindLeaf = 0;
constexpr uint8_t kKindIndex = 1;
constexpr int kMaxDepth = 8;

Status Bad(const std::string& why) { return Status::Corruption("tree blob: " + why); }

bool ValidName(const std::string& n) {
  return !n.empty() && n.find('/') == std::string::npos && n.find('\0') == std::string::npos;
}

void EncodeNode(const Node& n, Bytes& out) {
  PutLengthPrefixed(out, n.name);
  out.push_back(static_cast<uint8_t>(n.type));
  PutVarint64(out, n.mode);
  PutVarint64(out, n.uid);
  PutVarint64(out, n.gid);
  PutLengthPrefixed(out, n.user);
  PutLengthPrefixed(out, n.group);
  PutVarint64(out, n.size);
  PutVarsint64(out, n.mtime_ns);
  PutVarsint64(out, n.ctime_ns);
  PutVarsint64(out, n.atime_ns);
  PutVarint64(out, n.device);
  PutVarint64(out, n.inode);
  PutVarint64(out, n.nlink);
  PutVarint64(out, n.rdev);
  PutLengthPrefixed(out, n.symlink_target);
  PutVarint64(out, n.xattrs.size());
  for (const auto& x : n.xattrs) {
    PutLengthPrefixed(out, x.name);
    PutLengthPrefixed(out, x.value);
  }
  PutVarint64(out, n.content.size());
  for (const auto& e : n.content) {
    out.push_back(e.hole ? 1 : 0);
    if (!e.hole) Append(out, e.blob.view());
    PutVarint64(out, e.length);
  }
  if (n.type == NodeType::kFile) Append(out, n.sha256.view());
  if (n.type == NodeType::kDir) Append(out, n.subtree.view());
}

Status DecodeNode(Reader& r, Node& n) {
  uint8_t type;
  uint64_t mode, uid, gid, nlink;
  if (!r.LengthPrefixed(&n.name) || !r.Byte(&type) || !r.Varint64(&mode) || !r.Varint64(&uid) ||
      !r.Varint64(&gid) || !r.LengthPrefixed(&n.user) || !r.LengthPrefixed(&n.group) ||
      !r.Varint64(&n.size) || !r.Varsint64(&n.mtime_ns) || !r.Varsint64(&n.ctime_ns) ||
      !r.Varsint64(&n.atime_ns) || !r.Varint64(&n.device) || !r.Varint64(&n.inode) ||
      !r.Varint64(&nlink) || !r.Varint64(&n.rdev) || !r.LengthPrefixed(&n.symlink_target)) {
    return Bad("truncated entry");
  }
  if (!ValidName(n.name)) return Bad("invalid entry name");
  if (type > static_cast<uint8_t>(NodeType::kBlockDev)) return Bad("unknown entry type");
  if (mode > 07777 || uid > UINT32_MAX || gid > UINT32_MAX || nlink > UINT32_MAX) {
    return Bad("field out of range in " + n.name);
  }
  n.type = static_cast<NodeType>(type);
  n.mode = static_cast<uint32_t>(mode);
  n.uid = static_cast<uint32_t>(uid);
  n.gid = static_cast<uint32_t>(gid);
  n.nlink = static_cast<uint32_t>(nlink);
  uint64_t nx;
  if (!r.Varint64(&nx) || nx > r.remaining() / 2) return Bad("bad xattr count");
  n.xattrs.resize(static_cast<size_t>(nx));
  for (auto& x : n.xattrs) {
    if (!r.LengthPrefixed(&x.name) || !r.LengthPrefixed(&x.value)) return Bad("truncated xattr");
  }
  uint64_t ne;
  if (!r.Varint64(&ne) || ne > r.remaining() / 2) return Bad("bad extent count");
  if (ne && n.type != NodeType::kFile) return Bad("content on a non-file");
  n.content.resize(static_cast<size_t>(ne));
  uint64_t total = 0;
  for (auto& e : n.content) {
    uint8_t flag;
    if (!r.Byte(&flag) || flag > 1) return Bad("bad extent");
    e.hole = flag == 1;
    if (!e.hole) {
      ByteView id;
      if (!r.Raw(32, &id)) return Bad("truncated extent");
      e.blob = Id::FromView(id);
    }
    if (!r.Varint64(&e.length) || e.length == 0) return Bad("bad extent length");
    total += e.length;
  }
  ByteView id;
  if (n.type == NodeType::kFile) {
    if (total != n.size) return Bad("extents of " + n.name + " do not add up to its size");
    if (!r.Raw(32, &id)) return Bad("truncated hash");
    n.sha256 = Id::FromView(id);
  } else if (n.type == NodeType::kDir) {
    if (!r.Raw(32, &id)) return Bad("truncated subtree id");
    n.subtree = Id::FromView(id);
  }
  return Status::OK();
}

uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

Result<Id> StoreLeaf(std::span<const Node> nodes, const TreeStoreFn& store) {
  TreeBlob b;
  b.nodes.assign(nodes.begin(), nodes.end());
  return store(EncodeTreeBlob(b));
}

}  // namespace

std::string_view NodeTypeName(NodeType t) {
  switch (t) {
    case NodeType::kFile: return "file";
    case NodeType::kDir: return "dir";
    case NodeType::kSymlink: return "symlink";
    case NodeType::kFifo: return "fifo";
    case NodeType::kSocket: return "socket";
    case NodeType::kCharDev: return "chardev";
    case NodeType::kBlockDev: return "blockdev";
  }
  return "unknown";
}

Bytes EncodeTreeBlob(const TreeBlob& blob) {
  Bytes out;
  out.push_back(kTreeVersion);
  out.push_back(blob.is_index ? kKindIndex : kKindLeaf);
  if (blob.is_index) {
    PutVarint64(out, blob.children.size());
    for (const auto& c : blob.children) {
      PutLengthPrefixed(out, c.first_name);
      Append(out, c.id.view());
      PutVarint64(out, c.count);
    }
  } else {
    PutVarint64(out, blob.nodes.size());
    for (const auto& n : blob.nodes) EncodeNode(n, out);
  }
  return out;
}

Result<TreeBlob> DecodeTreeBlob(ByteView data) {
  Reader r(data);
  uint8_t version, kind;
  uint64_t count;
  if (!r.Byte(&version) || version != kTreeVersion) return Err(Bad("unknown version"));
  if (!r.Byte(&kind) || kind > kKindIndex) return Err(Bad("unknown kind"));
  // Every entry takes at least 20 bytes (leaf) or 34 (index): bound the
  // count by the input before allocating.
  if (!r.Varint64(&count) || count > r.remaining() / (kind == kKindLeaf ? 20 : 34)) {
    return Err(Bad("bad entry count"));
  }
  TreeBlob b;
  b.is_index = kind == kKindIndex;
  if (b.is_index) {
    b.children.resize(static_cast<size_t>(count));
    for (size_t i = 0; i < b.children.size(); ++i) {
      TreeRef& c = b.children[i];
      ByteView id;
      if (!r.LengthPrefixed(&c.first_name) || !r.Raw(32, &id) || !r.Varint64(&c.count)) {
        return Err(Bad("truncated child reference"));
      }
      if (!ValidName(c.first_name) || (i && !(b.children[i - 1].first_name < c.first_name))) {
        return Err(Bad("child references out of order"));
      }
      c.id = Id::FromView(id);
    }
  } else {
    b.nodes.resize(static_cast<size_t>(count));
    for (size_t i = 0; i < b.nodes.size(); ++i) {
      CAIRN_RETURN_IF_ERROR(DecodeNode(r, b.nodes[i]));
      if (i && !(b.nodes[i - 1].name < b.nodes[i].name)) {
        return Err(Bad("entries out of order or duplicated"));
      }
    }
  }
  if (!r.empty()) return Err(Bad("trailing bytes"));
  return b;
}

Result<Id> WriteTree(std::span<const Node> nodes, const TreeStoreFn& store) {
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!ValidName(nodes[i].name)) {
      return Err(Status::InvalidArgument("invalid entry name in tree"));
    }
    if (i && !(nodes[i - 1].name < nodes[i].name)) {
      return Err(Status::InvalidArgument("tree entries not sorted or duplicated: " + nodes[i].name));
    }
  }
  if (nodes.size() <= kSingleLeafMax) return StoreLeaf(nodes, store);
  std::vector<TreeRef> refs;
  size_t start = 0;
  for (size_t i = 0; i < nodes.size(); ++i) {
    size_t len = i - start + 1;
    bool cut = (len >= kLeafMin && (Fnv1a(nodes[i].name) & 0xfff) == 0) || len == kLeafMax ||
               i + 1 == nodes.size();
    if (!cut) continue;
    CAIRN_ASSIGN_OR_RETURN(Id id, StoreLeaf(nodes.subspan(start, len), store));
    refs.push_back(TreeRef{nodes[start].name, id, len});
    start = i + 1;
  }
  // Index levels until one blob holds all references.
  while (true) {
    std::vector<TreeRef> up;
    for (size_t i = 0; i < refs.size(); i += kLeafMax) {
      TreeBlob b;
      b.is_index = true;
      size_t end = std::min(refs.size(), i + kLeafMax);
      b.children.assign(refs.begin() + static_cast<ptrdiff_t>(i),
                        refs.begin() + static_cast<ptrdiff_t>(end));
      uint64_t count = 0;
      for (const auto& c : b.children) count += c.count;
      CAIRN_ASSIGN_OR_RETURN(Id id, store(EncodeTreeBlob(b)));
      up.push_back(TreeRef{b.children.front().first_name, id, count});
    }
    if (up.size() == 1) return up[0].id;
    refs = std::move(up);
  }
}

namespace {

// Returns the number of nodes visited under blob id.
Result<uint64_t> Visit(const Id& id, const TreeLoadFn& load,
                       const std::function<Status(Node&&)>& fn, int depth,
                       const std::string* expect_first) {
  if (depth > kMaxDepth) return Err(Bad("index nesting too deep"));
  CAIRN_ASSIGN_OR_RETURN(Bytes plain, load(id));
  auto blob = DecodeTreeBlob(plain);
  if (!blob) return Err(Status::Corruption(blob.error().message() + " (tree " + id.Short() + ")"));
  if (!blob->is_index) {
    if (expect_first && (blob->nodes.empty() || blob->nodes.front().name != *expect_first)) {
      return Err(Bad("leaf " + id.Short() + " does not start where its index says"));
    }
    uint64_t n = blob->nodes.size();
    for (auto& node : blob->nodes) CAIRN_RETURN_IF_ERROR(fn(std::move(node)));
    return n;
  }
  uint64_t total = 0;
  for (const auto& c : blob->children) {
    CAIRN_ASSIGN_OR_RETURN(uint64_t n, Visit(c.id, load, fn, depth + 1, &c.first_name));
    if (n != c.count) return Err(Bad("child " + c.id.Short() + " holds a different count"));
    total += n;
  }
  return total;
}

}  // namespace

Status ForEachNode(const Id& root, const TreeLoadFn& load,
                   const std::function<Status(Node&&)>& fn) {
  return AsStatus(Visit(root, load, fn, 0, nullptr));
}

Result<std::vector<Node>> ReadTree(const Id& root, const TreeLoadFn& load) {
  std::vector<Node> out;
  CAIRN_RETURN_IF_ERROR(ForEachNode(root, load, [&](Node&& n) {
    out.push_back(std::move(n));
    return Status::OK();
  }));
  return out;
}

}  // namespace cairn
