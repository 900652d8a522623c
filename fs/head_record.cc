#include "fs/head_record.h"

#include <algorithm>

#include "common/coding.h"

namespace cairn {

namespace {

constexpr uint8_t kRecordVersion = 1;

enum : uint8_t {
  kTouched = 1,
  kContentChanged = 2,
  kBaseIdentity = 4,
  kHashValid = 8,
  kSuspect = 16,
};

}  // namespace

Bytes EncodeHeadRecord(const HeadNode& n) {
  Bytes out;
  out.push_back(kRecordVersion);
  uint8_t flags = 0;
  if (n.touched) flags |= kTouched;
  if (n.content_changed) flags |= kContentChanged;
  if (n.base_identity) flags |= kBaseIdentity;
  if (n.hash_valid) flags |= kHashValid;
  if (n.suspect) flags |= kSuspect;
  out.push_back(flags);
  PutVarint64(out, n.base_len);
  PutVarint64(out, n.meta.size);
  PutVarint64(out, n.staged.size());
  for (const auto& r : n.staged) {
    PutVarint64(out, r.offset);
    PutVarint64(out, r.length);
  }
  if (n.hash_valid) out.insert(out.end(), n.staged_hash.bytes.begin(), n.staged_hash.bytes.end());
  PutVarint64(out, n.links.size());
  for (const auto& [parent, name] : n.links) {
    PutVarint64(out, parent);
    PutLengthPrefixed(out, std::string_view(name));
  }
  // The metadata as a one-node tree leaf: the tree format's encoding of
  // every field a node has (doc/format.md, "Nodes").
  // Its size there is the stored content's (the tree format checks that
  // the extents add up to it); the file's size is the varint above.
  TreeBlob leaf;
  leaf.nodes.push_back(n.meta);
  Node& m = leaf.nodes.back();
  m.name = "n";
  if (m.type == NodeType::kFile) {
    m.size = 0;
    for (const auto& e : m.content) m.size += e.length;
  }
  PutLengthPrefixed(out, ByteView(EncodeTreeBlob(leaf)));
  return out;
}

Result<HeadNode> DecodeHeadRecord(uint64_t ino, ByteView record) {
  auto bad = [&](std::string_view what) {
    return Err(Status::Corruption("head journal: record of inode " + std::to_string(ino) + ": " +
                                  std::string(what)));
  };
  Reader r(record);
  uint8_t version = 0, flags = 0;
  if (!r.Byte(&version) || !r.Byte(&flags)) return bad("truncated");
  if (version != kRecordVersion) {
    return Err(Status::Unsupported("head journal: record of inode " + std::to_string(ino) +
                                   " has version " + std::to_string(version) +
                                   " (written by a newer cairn; upgrade cairn)"));
  }
  HeadNode n;
  n.ino = ino;
  n.dirty = true;
  n.touched = flags & kTouched;
  n.content_changed = flags & kContentChanged;
  n.base_identity = flags & kBaseIdentity;
  n.hash_valid = flags & kHashValid;
  n.suspect = flags & kSuspect;
  uint64_t count = 0;
  uint64_t size = 0;
  if (!r.Varint64(&n.base_len) || !r.Varint64(&size) || !r.Varint64(&count)) {
    return bad("truncated");
  }
  if (count > r.remaining()) return bad("staged range count");
  n.staged.resize(count);
  for (auto& s : n.staged) {
    if (!r.Varint64(&s.offset) || !r.Varint64(&s.length)) return bad("truncated ranges");
  }
  if (n.hash_valid) {
    ByteView h;
    if (!r.Raw(Id::kSize, &h)) return bad("truncated hash");
    n.staged_hash = Id::FromView(h);
  }
  if (!r.Varint64(&count) || count > r.remaining()) return bad("link count");
  n.links.resize(count);
  for (auto& [parent, name] : n.links) {
    if (!r.Varint64(&parent) || !r.LengthPrefixed(&name)) return bad("truncated links");
  }
  ByteView leaf_bytes;
  if (!r.LengthPrefixed(&leaf_bytes) || !r.empty()) return bad("metadata");
  auto leaf = DecodeTreeBlob(leaf_bytes);
  if (!leaf) return bad(leaf.error().message());
  if (leaf->is_index || leaf->nodes.size() != 1) return bad("metadata is not one node");
  n.meta = std::move(leaf->nodes[0]);
  n.meta.name.clear();
  n.meta.size = size;
  return n;
}

namespace {

// The first range that ends at or after off (the first that r can touch).
std::vector<ByteRange>::const_iterator FirstTouching(const std::vector<ByteRange>& ranges,
                                                    uint64_t off) {
  return std::lower_bound(ranges.begin(), ranges.end(), off,
                          [](const ByteRange& x, uint64_t o) { return x.end() < o; });
}

}  // namespace

uint64_t UncoveredBytes(const std::vector<ByteRange>& ranges, ByteRange r) {
  uint64_t covered = 0;
  for (auto it = FirstTouching(ranges, r.offset); it != ranges.end() && it->offset < r.end();
       ++it) {
    const uint64_t lo = std::max(it->offset, r.offset), hi = std::min(it->end(), r.end());
    if (hi > lo) covered += hi - lo;
  }
  return r.length - covered;
}

uint64_t AddRange(std::vector<ByteRange>& ranges, ByteRange r) {
  if (r.length == 0) return 0;
  auto first = ranges.begin() + (FirstTouching(ranges, r.offset) - ranges.cbegin());
  uint64_t start = r.offset, end = r.end(), covered = 0;
  auto last = first;
  while (last != ranges.end() && last->offset <= end) {
    const uint64_t lo = std::max(last->offset, r.offset), hi = std::min(last->end(), r.end());
    if (hi > lo) covered += hi - lo;
    start = std::min(start, last->offset);
    end = std::max(end, last->end());
    ++last;
  }
  auto it = ranges.erase(first, last);
  ranges.insert(it, ByteRange{start, end - start});
  return r.length - covered;
}

uint64_t CutRanges(std::vector<ByteRange>& ranges, uint64_t size) {
  uint64_t removed = 0;
  while (!ranges.empty() && ranges.back().end() > size) {
    ByteRange& b = ranges.back();
    if (b.offset >= size) {
      removed += b.length;
      ranges.pop_back();
    } else {
      removed += b.end() - size;
      b.length = size - b.offset;
    }
  }
  return removed;
}

}  // namespace cairn
