// Tree blobs: a compact, deterministic encoding and a decoder that accepts
// only what a correct writer can produce (checked field by field, so it is
// safe on any input). Layout: doc/format.md, "Tree blobs".
#include "repo/tree.h"

#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "common/coding.h"

namespace cairn {

namespace {

constexpr uint8_t kTreeVersion = 1;
constexpr uint8_t kKindLeaf = 0;
constexpr uint8_t kKindIndex = 1;
// Index levels above the leaves; 8 levels of kLeafMax refs is far beyond any
// real directory, so deeper nesting can only be a damaged or hostile tree.
constexpr int kMaxDepth = 8;

// Optional node fields, encoded after the fixed ones in this bit order and
// only when they differ from their default (nlink 1, zero, empty). Keeps the
// common entries short and the encoding canonical.
enum : uint8_t {
  kHasNlink = 1 << 0,
  kHasRdev = 1 << 1,
  kHasSymlink = 1 << 2,
  kHasXattrs = 1 << 3,
  kHasContent = 1 << 4,
  kHasSha256 = 1 << 5,
  kHasSubtree = 1 << 6,
  kKnownFields = 0x7f,
};

// Smallest possible encodings: counts read from the input are bounded by
// remaining / minimum before anything is allocated.
constexpr size_t kMinNodeSize = 15;  // 1-byte name, every fixed field 1 byte
constexpr size_t kMinRefSize = 2 + Id::kSize + 1;
constexpr size_t kMinXattrSize = 3;   // non-empty name, empty value
constexpr size_t kMinExtentSize = 2;  // hole flag, 1-byte length

Status Bad(std::string why) { return Status::Corruption("tree blob: " + why); }

// Entry names for messages: at most 64 bytes, non-printables as \xNN.
std::string Printable(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s.substr(0, 64)) {
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (s.size() > 64) out += "...";
  return out;
}

// Not empty, not "." or "..", no '/' or NUL: a name can never step out of
// its directory on restore.
bool ValidName(std::string_view n) {
  return !n.empty() && n != "." && n != ".." &&
         n.find_first_of(std::string_view("/\0", 2)) == std::string_view::npos;
}

// Why n cannot be stored in a tree, or nullptr. WriteTree and the decoder
// apply the same rules, so whatever is written can be read back.
const char* NodeProblem(const Node& n) {
  if (!ValidName(n.name)) return "invalid name";
  if (static_cast<uint8_t>(n.type) > static_cast<uint8_t>(NodeType::kBlockDev)) {
    return "unknown type";
  }
  if (n.mode > 07777) return "mode has bits outside 07777";
  for (size_t i = 0; i < n.xattrs.size(); ++i) {
    const std::string& x = n.xattrs[i].name;
    if (x.empty() || x.find('\0') != std::string::npos) return "invalid xattr name";
    if (i && !(n.xattrs[i - 1].name < x)) return "xattrs not sorted or duplicated";
  }
  if (!n.content.empty() && n.type != NodeType::kFile) return "content on a non-file";
  uint64_t total = 0;
  for (const Extent& e : n.content) {
    if (e.length == 0) return "empty extent";
    if (e.hole && !e.blob.IsZero()) return "hole with a blob id";
    if (e.length > UINT64_MAX - total) return "extent lengths overflow";
    total += e.length;
  }
  if (n.type == NodeType::kFile && total != n.size) return "extents do not add up to the size";
  return nullptr;
}

uint8_t FieldsOf(const Node& n) {
  uint8_t f = 0;
  if (n.nlink != 1) f |= kHasNlink;
  if (n.rdev != 0) f |= kHasRdev;
  if (!n.symlink_target.empty()) f |= kHasSymlink;
  if (!n.xattrs.empty()) f |= kHasXattrs;
  if (!n.content.empty()) f |= kHasContent;
  if (!n.sha256.IsZero()) f |= kHasSha256;
  if (!n.subtree.IsZero()) f |= kHasSubtree;
  return f;
}

void EncodeNode(const Node& n, Bytes& out) {
  const uint8_t fields = FieldsOf(n);
  PutLengthPrefixed(out, n.name);
  out.push_back(static_cast<uint8_t>(n.type));
  out.push_back(fields);
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
  if (fields & kHasNlink) PutVarint64(out, n.nlink);
  if (fields & kHasRdev) PutVarint64(out, n.rdev);
  if (fields & kHasSymlink) PutLengthPrefixed(out, n.symlink_target);
  if (fields & kHasXattrs) {
    PutVarint64(out, n.xattrs.size());
    for (const Xattr& x : n.xattrs) {
      PutLengthPrefixed(out, x.name);
      PutLengthPrefixed(out, x.value);
    }
  }
  if (fields & kHasContent) {
    PutVarint64(out, n.content.size());
    for (const Extent& e : n.content) {
      out.push_back(e.hole ? 1 : 0);
      if (!e.hole) Append(out, e.blob.view());
      PutVarint64(out, e.length);
    }
  }
  if (fields & kHasSha256) Append(out, n.sha256.view());
  if (fields & kHasSubtree) Append(out, n.subtree.view());
}

bool ReadId(Reader& r, Id* id) {
  ByteView v;
  if (!r.Raw(Id::kSize, &v)) return false;
  std::memcpy(id->bytes.data(), v.data(), Id::kSize);
  return true;
}

// Reads the optional fields selected by `fields`; each present one must hold
// a non-default value (canonical form: one encoding per node).
Status DecodeOptional(Reader& r, uint8_t fields, Node& n) {
  if ((fields & kHasNlink) && (!r.Varint32(&n.nlink) || n.nlink == 1)) return Bad("bad nlink");
  if ((fields & kHasRdev) && (!r.Varint64(&n.rdev) || n.rdev == 0)) return Bad("bad rdev");
  if ((fields & kHasSymlink) &&
      (!r.LengthPrefixed(&n.symlink_target) || n.symlink_target.empty())) {
    return Bad("bad symlink target");
  }
  uint64_t count;
  if (fields & kHasXattrs) {
    if (!r.Varint64(&count) || count == 0 || count > r.remaining() / kMinXattrSize) {
      return Bad("bad xattr count");
    }
    n.xattrs.resize(static_cast<size_t>(count));
    for (Xattr& x : n.xattrs) {
      if (!r.LengthPrefixed(&x.name) || !r.LengthPrefixed(&x.value)) return Bad("truncated xattr");
    }
  }
  if (fields & kHasContent) {
    if (!r.Varint64(&count) || count == 0 || count > r.remaining() / kMinExtentSize) {
      return Bad("bad extent count");
    }
    n.content.resize(static_cast<size_t>(count));
    for (Extent& e : n.content) {
      uint8_t flag;
      if (!r.Byte(&flag) || flag > 1) return Bad("bad extent flag");
      e.hole = flag == 1;
      if ((!e.hole && !ReadId(r, &e.blob)) || !r.Varint64(&e.length)) {
        return Bad("truncated extent");
      }
    }
  }
  if ((fields & kHasSha256) && (!ReadId(r, &n.sha256) || n.sha256.IsZero())) {
    return Bad("bad content hash");
  }
  if ((fields & kHasSubtree) && (!ReadId(r, &n.subtree) || n.subtree.IsZero())) {
    return Bad("bad subtree id");
  }
  return Status::OK();
}

Status DecodeNode(Reader& r, Node& n) {
  uint8_t type, fields;
  uint64_t mode;
  if (!r.LengthPrefixed(&n.name) || !r.Byte(&type) || !r.Byte(&fields) || !r.Varint64(&mode) ||
      !r.Varint32(&n.uid) || !r.Varint32(&n.gid) || !r.LengthPrefixed(&n.user) ||
      !r.LengthPrefixed(&n.group) || !r.Varint64(&n.size) || !r.Varsint64(&n.mtime_ns) ||
      !r.Varsint64(&n.ctime_ns) || !r.Varsint64(&n.atime_ns) || !r.Varint64(&n.device) ||
      !r.Varint64(&n.inode)) {
    return Bad("truncated or invalid entry");
  }
  if (type > static_cast<uint8_t>(NodeType::kBlockDev)) return Bad("unknown entry type");
  if (fields & ~kKnownFields) return Bad("unknown entry fields");
  if (mode > 07777) return Bad("mode out of range");
  n.type = static_cast<NodeType>(type);
  n.mode = static_cast<uint32_t>(mode);
  Status s = DecodeOptional(r, fields, n);
  if (!s.ok()) return s.WithContext("entry \"" + Printable(n.name) + "\"");
  if (const char* p = NodeProblem(n)) return Bad("entry \"" + Printable(n.name) + "\": " + p);
  return Status::OK();
}

void EncodeLeaf(std::span<const Node> nodes, Bytes& out) {
  out.push_back(kTreeVersion);
  out.push_back(kKindLeaf);
  PutVarint64(out, nodes.size());
  for (const Node& n : nodes) EncodeNode(n, out);
}

void EncodeIndex(std::span<const TreeRef> refs, Bytes& out) {
  out.push_back(kTreeVersion);
  out.push_back(kKindIndex);
  PutVarint64(out, refs.size());
  for (const TreeRef& c : refs) {
    PutLengthPrefixed(out, c.first_name);
    Append(out, c.id.view());
    PutVarint64(out, c.count);
  }
}

uint64_t Fnv1a64(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

}  // namespace

std::string_view NodeTypeName(NodeType t) {
  switch (t) {
    case NodeType::kFile:
      return "file";
    case NodeType::kDir:
      return "dir";
    case NodeType::kSymlink:
      return "symlink";
    case NodeType::kFifo:
      return "fifo";
    case NodeType::kSocket:
      return "socket";
    case NodeType::kCharDev:
      return "chardev";
    case NodeType::kBlockDev:
      return "blockdev";
  }
  return "unknown";
}

Bytes EncodeTreeBlob(const TreeBlob& blob) {
  Bytes out;
  if (blob.is_index) {
    out.reserve(8 + blob.children.size() * 64);
    EncodeIndex(blob.children, out);
  } else {
    out.reserve(8 + blob.nodes.size() * 128);
    EncodeLeaf(blob.nodes, out);
  }
  return out;
}

Result<TreeBlob> DecodeTreeBlob(ByteView data) {
  Reader r(data);
  uint8_t version, kind;
  uint64_t count;
  if (!r.Byte(&version) || version != kTreeVersion) return Err(Bad("unknown version"));
  if (!r.Byte(&kind) || kind > kKindIndex) return Err(Bad("unknown kind"));
  if (!r.Varint64(&count) || count > kLeafMax ||
      count > r.remaining() / (kind == kKindLeaf ? kMinNodeSize : kMinRefSize)) {
    return Err(Bad("bad entry count"));
  }
  TreeBlob b;
  b.is_index = kind == kKindIndex;
  if (b.is_index) {
    if (count == 0) return Err(Bad("empty index"));
    b.children.resize(static_cast<size_t>(count));
    for (size_t i = 0; i < b.children.size(); ++i) {
      TreeRef& c = b.children[i];
      if (!r.LengthPrefixed(&c.first_name) || !ReadId(r, &c.id) || !r.Varint64(&c.count)) {
        return Err(Bad("truncated child reference"));
      }
      if (!ValidName(c.first_name) || c.count == 0) return Err(Bad("invalid child reference"));
      if (i && !(b.children[i - 1].first_name < c.first_name)) {
        return Err(Bad("child references out of order"));
      }
    }
  } else {
    b.nodes.resize(static_cast<size_t>(count));
    for (size_t i = 0; i < b.nodes.size(); ++i) {
      CAIRN_RETURN_IF_ERROR(DecodeNode(r, b.nodes[i]));
      if (i && !(b.nodes[i - 1].name < b.nodes[i].name)) {
        return Err(
            Bad("entries out of order or duplicated at \"" + Printable(b.nodes[i].name) + "\""));
      }
    }
  }
  if (!r.empty()) return Err(Bad("trailing bytes"));
  return b;
}

Result<Id> WriteTree(std::span<const Node> nodes, const TreeStoreFn& store) {
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (const char* p = NodeProblem(nodes[i])) {
      return Err(Status::InvalidArgument("tree entry \"" + Printable(nodes[i].name) + "\": " + p));
    }
    if (i && !(nodes[i - 1].name < nodes[i].name)) {
      return Err(Status::InvalidArgument("tree entries not sorted or duplicated at \"" +
                                         Printable(nodes[i].name) + "\""));
    }
  }
  if (nodes.size() <= kSingleLeafMax) {
    Bytes leaf;
    EncodeLeaf(nodes, leaf);
    return store(std::move(leaf));
  }
  // Leaves, cut where the content-defined rule of tree.h says.
  std::vector<TreeRef> refs;
  for (size_t start = 0, i = 0; i < nodes.size(); ++i) {
    const size_t len = i + 1 - start;
    const bool cut = i + 1 == nodes.size() || len == kLeafMax ||
                     (len >= kLeafMin && (Fnv1a64(nodes[i].name) & 0xfff) == 0);
    if (!cut) continue;
    Bytes leaf;
    EncodeLeaf(nodes.subspan(start, len), leaf);
    CAIRN_ASSIGN_OR_RETURN(Id id, store(std::move(leaf)));
    refs.push_back(TreeRef{nodes[start].name, id, len});
    start = i + 1;
  }
  // Index levels of at most kLeafMax refs each, until one blob holds all.
  do {
    std::vector<TreeRef> up;
    for (size_t i = 0; i < refs.size(); i += kLeafMax) {
      auto group = std::span<const TreeRef>(refs).subspan(i, std::min(kLeafMax, refs.size() - i));
      uint64_t count = 0;
      for (const TreeRef& c : group) count += c.count;
      Bytes index;
      EncodeIndex(group, index);
      CAIRN_ASSIGN_OR_RETURN(Id id, store(std::move(index)));
      up.push_back(TreeRef{group.front().first_name, id, count});
    }
    refs = std::move(up);
  } while (refs.size() > 1);
  return refs.front().id;
}

namespace {

// Walks one directory's tree blobs depth first. Besides what DecodeTreeBlob
// checks, it checks what spans blobs: each child starts with the name and
// holds the count its index gives, names rise across leaves, and no blob
// appears twice (so a cyclic or exponentially shared tree is refused, not
// walked forever).
class TreeWalker {
 public:
  TreeWalker(const TreeLoadFn& load, const std::function<Status(Node&&)>& fn)
      : load_(load), fn_(fn) {}

  // Returns the number of nodes under id.
  Result<uint64_t> Visit(const Id& id, int depth, const std::string* expect_first) {
    // Errors only: the walk of a healthy directory formats no messages.
    auto corrupt = [&id](std::string_view why) {
      return Err(Status::Corruption("tree " + id.Short() + ": " + std::string(why)));
    };
    if (depth > kMaxDepth) return corrupt("index nesting too deep");
    if (depth > 0 && !seen_.insert(id).second) return corrupt("referenced twice in one directory");
    CAIRN_ASSIGN_OR_RETURN(Bytes plain, load_(id));
    auto blob = DecodeTreeBlob(plain);
    if (!blob) return Err(blob.error().WithContext("tree " + id.Short()));
    if (blob->is_index) {
      if (expect_first && blob->children.front().first_name != *expect_first) {
        return corrupt("index does not start where its parent says");
      }
      uint64_t total = 0;
      for (const TreeRef& c : blob->children) {
        CAIRN_ASSIGN_OR_RETURN(uint64_t n, Visit(c.id, depth + 1, &c.first_name));
        if (n != c.count) {
          return corrupt("child " + c.id.Short() + " holds " + std::to_string(n) +
                         " entries, not " + std::to_string(c.count));
        }
        total += n;
      }
      return total;
    }
    std::vector<Node>& nodes = blob->nodes;
    if (expect_first && (nodes.empty() || nodes.front().name != *expect_first)) {
      return corrupt("leaf does not start where its index says");
    }
    if (nodes.empty()) return uint64_t{0};
    if (depth > 0) {  // one of several leaves: order across them
      if (any_ && !(last_name_ < nodes.front().name)) return corrupt("leaf out of order");
      any_ = true;
      last_name_ = nodes.back().name;
    }
    for (Node& n : nodes) CAIRN_RETURN_IF_ERROR(fn_(std::move(n)));
    return uint64_t{nodes.size()};
  }

 private:
  const TreeLoadFn& load_;
  const std::function<Status(Node&&)>& fn_;
  bool any_ = false;                     // a leaf below the root has been walked
  std::string last_name_;                // the last name in that leaf
  std::unordered_set<Id, IdHash> seen_;  // blobs below the root visited so far
};

}  // namespace

Status ForEachNode(const Id& root, const TreeLoadFn& load,
                   const std::function<Status(Node&&)>& fn) {
  TreeWalker walker(load, fn);
  return AsStatus(walker.Visit(root, 0, nullptr));
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
