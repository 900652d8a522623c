// How a stored entry is kept in the TreeCache: entry values, inode
// locators and bindings (fs/stored_entry.h).
#include <sys/stat.h>

#include "common/coding.h"
#include "fs/stored_entry.h"

#include <string>

#include "fs/inode_number.h"

namespace cairn::stored_entry {

// Locator of a stored inode (TreeCache inodes table):
//   kind u8 | snapshot id (32) | parent inode fixed64 | parent tree id (32)
//   | name
// kind 2 = a stored snapshot entry numbered in the snapshot tree's range
// (fs/inode_number.h). Kind 1 was the scheme before the kind field: its
// records (and their identities, see MakeBinding) are never matched, so a
// cache written by an older cairn cannot hand out a number outside the
// range; `cairn cache clear` reclaims their space.
constexpr uint8_t kStoredEntry = 2;

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
// (snapshot, parent inode, name), i.e. by path. Identities start with 'h'
// and 'p' (the scheme before the kind field used 'H' and 'P': never equal).
//
// The preferred number of a path-bound entry is its directory's base plus
// its ordinal: the base is a hash of (snapshot, parent inode) with the low
// kOrdinalBits clear, so one directory's numbers are consecutive and its
// records sit on adjacent pages of the inode table. A walk, readdir or
// `ls -l` of a directory then maps a few pages per thousand entries instead
// of one page per entry scattered over the whole table (the daemon's
// memory stays flat on a walk). A directory of more than 2^kOrdinalBits entries runs into the
// next base; linear probing in TreeCache::Bind keeps every number unique.
constexpr int kOrdinalBits = 20;

static uint64_t DirBase(std::string_view sid, ByteView parent) {
  return HashIno(TreeKind::kSnapshot, {"D", sid, AsChars(parent)}) &
         ~((uint64_t{1} << kOrdinalBits) - 1);
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
    b.identity.push_back('h');
    Append(b.identity, snap.view());
    Append(b.identity, dev_ino);
    b.wanted = HashIno(TreeKind::kSnapshot, {"H", sid, AsChars(dev_ino)});
  } else {
    Bytes par;
    PutFixed64(par, parent);
    b.identity.push_back('p');
    Append(b.identity, snap.view());
    Append(b.identity, par);
    Append(b.identity, AsBytes(n.name));
    b.wanted = DirBase(sid, par) + ordinal;
  }
  return b;
}

Status CheckBound(std::span<const TreeCache::Binding> bs) {
  for (const TreeCache::Binding& b : bs) {
    // Linear probing could run past the end of the range only in a table
    // filled beyond any real use (or damaged).
    if (KindOfIno(b.ino) != TreeKind::kSnapshot) {
      return Status::Corruption("tree cache: inode " + std::to_string(b.ino) +
                                " is outside the snapshot entries' range; remove the cache "
                                "with `cairn cache clear`");
    }
  }
  return Status::OK();
}

}  // namespace cairn::stored_entry
