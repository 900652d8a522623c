// How a stored entry is kept in the TreeCache: entry values, inode
// locators and bindings (fs/archive_fs_internal.h).
#include <sys/stat.h>

#include "common/coding.h"
#include "fs/archive_fs_internal.h"
#include "fs/snapshot_view.h"

namespace cairn::archive_internal {

// Locator of a stored inode (TreeCache inodes table):
//   kind u8 (1 = stored snapshot entry; the head/ issue adds staged kinds)
//   | snapshot id (32) | parent inode fixed64 | parent tree id (32) | name
constexpr uint8_t kStoredEntry = 1;

Bytes EncodeLocator(const Id& snap, uint64_t parent, const Id& parent_tree,
                    std::string_view name) {
  Bytes b;
  b.push_back(kStoredEntry);
  Append(b, snap.view());
  PutFixed64(b, parent);
  Append(b, parent_tree.view());
  Append(b, AsBytes(name));
  return b;
}

std::optional<Locator> DecodeLocator(ByteView b) {
  if (b.size() < 1 + 32 + 8 + 32 + 1 || b[0] != kStoredEntry) return std::nullopt;
  Locator l;
  l.snap = Id::FromView(b.subspan(1, 32));
  l.parent = DecodeFixed64(b.data() + 33);
  l.parent_tree = Id::FromView(b.subspan(41, 32));
  l.name = std::string(AsChars(b.subspan(73)));
  return l;
}

// A decoded entry in TreeCache: stored bytes fixed64 | a one-node tree leaf.
Bytes EncodeEntry(const Node& n, uint64_t stored_bytes) {
  Bytes v;
  PutFixed64(v, stored_bytes);
  TreeBlob leaf;
  leaf.nodes.push_back(n);
  Append(v, EncodeTreeBlob(leaf));
  return v;
}

Result<std::pair<Node, uint64_t>> DecodeEntry(ByteView v, std::string_view name) {
  auto bad = [&] {
    return Err(Status::Corruption("tree cache: entry " + std::string(name) +
                                  " is damaged; remove the cache with `cairn cache clear`"));
  };
  if (v.size() < 8) return bad();
  auto blob = DecodeTreeBlob(v.subspan(8));
  if (!blob || blob->is_index || blob->nodes.size() != 1) return bad();
  return std::make_pair(std::move(blob->nodes[0]), DecodeFixed64(v.data()));
}

uint32_t TypeBits(NodeType t) {
  switch (t) {
    case NodeType::kFile: return S_IFREG;
    case NodeType::kDir: return S_IFDIR;
    case NodeType::kSymlink: return S_IFLNK;
    case NodeType::kFifo: return S_IFIFO;
    case NodeType::kSocket: return S_IFSOCK;
    case NodeType::kCharDev: return S_IFCHR;
    case NodeType::kBlockDev: return S_IFBLK;
  }
  return S_IFREG;
}

// Inode binding of a stored node below parent: hardlinked files by
// (snapshot, device, inode) so the group shares one number, the rest by
// (snapshot, parent inode, name), i.e. by path.
//
// The preferred number of a path-bound entry is its directory's base plus
// its ordinal: the base is a hash of (snapshot, parent inode) with the low
// kOrdinalBits clear, so one directory's numbers are consecutive and its
// records sit on adjacent pages of the inode table. A walk, readdir or
// `ls -l` of a directory then maps a few pages per thousand entries instead
// of one page per entry scattered over the whole table (DESIGN.md: flat
// memory). A directory of more than 2^kOrdinalBits entries runs into the
// next base; linear probing in TreeCache::Bind keeps every number unique.
constexpr int kOrdinalBits = 20;

static uint64_t DirBase(std::string_view sid, ByteView parent) {
  return HashIno({"D", sid, AsChars(parent)}) & ~((uint64_t{1} << kOrdinalBits) - 1);
}

TreeCache::Binding MakeBinding(const Id& snap, uint64_t parent, const Id& parent_tree,
                               const Node& n, uint64_t ordinal) {
  TreeCache::Binding b;
  b.locator = EncodeLocator(snap, parent, parent_tree, n.name);
  std::string_view sid = AsChars(snap.view());
  if (n.type == NodeType::kFile && n.nlink > 1) {
    Bytes dev_ino;
    PutFixed64(dev_ino, n.device);
    PutFixed64(dev_ino, n.inode);
    b.identity.push_back('H');
    Append(b.identity, snap.view());
    Append(b.identity, dev_ino);
    b.wanted = HashIno({"H", sid, AsChars(dev_ino)});
  } else {
    Bytes par;
    PutFixed64(par, parent);
    b.identity.push_back('P');
    Append(b.identity, snap.view());
    Append(b.identity, par);
    Append(b.identity, AsBytes(n.name));
    b.wanted = DirBase(sid, par) + ordinal;
  }
  return b;
}

}  // namespace cairn::archive_internal
