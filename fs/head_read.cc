// HeadTree: reading files, links and attributes, and the figures of the
// whole tree (statfs, status). Lookups and listings are in
// fs/head_tree.cc, changes in fs/head_tree_ops.cc.
#include <algorithm>
#include <cstring>

#include "fs/head_state.h"

namespace cairn {

Result<size_t> HeadTree::Read(OpenFile& f, uint64_t offset, std::span<uint8_t> out) {
  return ReadData(f.ino, static_cast<File*>(&f), offset, out);
}

Result<size_t> HeadTree::ReadIno(uint64_t ino, uint64_t offset, std::span<uint8_t> out) {
  return ReadData(ino, nullptr, offset, out);
}

Result<size_t> ReadHeadContent(HeadStaging& staging, ContentReader& reader,
                               const HeadContent& c,
                               std::unique_ptr<ContentReader::File>& base_file,
                               uint64_t offset, std::span<uint8_t> out) {
  if (offset >= c.size) return size_t{0};
  const size_t len = static_cast<size_t>(std::min<uint64_t>(out.size(), c.size - offset));
  const uint64_t base_len = std::min(c.base_len, c.size);
  auto fill_base = [&](uint64_t from, uint64_t to) -> Status {  // [from, to) of the file
    const uint64_t base_to = std::min(to, base_len);
    if (from < base_to) {
      if (!base_file) base_file = reader.Open(c.meta, "head/ inode " + std::to_string(c.ino));
      std::span<uint8_t> dst = out.subspan(from - offset, base_to - from);
      CAIRN_ASSIGN_OR_RETURN(size_t got, reader.Read(*base_file, from, dst));
      if (got < dst.size()) std::memset(dst.data() + got, 0, dst.size() - got);
      from = base_to;
    }
    if (from < to) std::memset(out.data() + (from - offset), 0, to - from);
    return Status::OK();
  };
  uint64_t pos = offset;
  const uint64_t end = offset + len;
  for (const auto& r : c.staged) {
    if (r.end() <= pos) continue;
    if (r.offset >= end) break;
    if (r.offset > pos) CAIRN_RETURN_IF_ERROR(fill_base(pos, r.offset));
    const uint64_t from = std::max(r.offset, pos), to = std::min(r.end(), end);
    CAIRN_RETURN_IF_ERROR(staging.Read(c.ino, from, out.subspan(from - offset, to - from)));
    pos = to;
  }
  if (pos < end) CAIRN_RETURN_IF_ERROR(fill_base(pos, end));
  return len;
}

Result<size_t> HeadTree::ReadData(uint64_t ino, File* f, uint64_t offset,
                                  std::span<uint8_t> out) {
  HeadContent c;
  uint64_t gen = 0;
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    HeadNode* n = FindLocked(ino);
    if (!n) return Err(Status::NotFound("head/: inode " + std::to_string(ino) + " is gone"));
    if (!n->is_file()) return Err(Status::IsADirectory(PathLocked(ino) + " is not a file"));
    c.ino = ino;
    c.size = n->meta.size;
    c.base_len = std::min(n->base_len, c.size);
    gen = s_->base_gen;
    for (const auto& r : n->staged) {
      if (r.end() > offset && r.offset < offset + out.size()) c.staged.push_back(r);
    }
    if (c.base_len > offset) c.meta = n->meta;
  }
  if (!f) {
    std::unique_ptr<ContentReader::File> base;
    return ReadHeadContent(*s_->staging, reader_, c, base, offset, out);
  }
  // An open file keeps its base reader (read-ahead state) until a seal
  // changes the stored content under it.
  std::lock_guard<std::mutex> flock(f->mu);
  if (f->base && (f->base_sha != c.meta.sha256 || f->base_gen != gen) && c.base_len > offset) {
    f->base.reset();
  }
  if (!f->base) {
    f->base_sha = c.meta.sha256;
    f->base_gen = gen;
  }
  return ReadHeadContent(*s_->staging, reader_, c, f->base, offset, out);
}

Result<std::string> HeadTree::ReadLink(uint64_t ino) {
  std::lock_guard<std::mutex> lock(s_->mu);
  HeadNode* n = FindLocked(ino);
  if (!n) return Err(Status::NotFound("head/: inode " + std::to_string(ino) + " is gone"));
  if (n->meta.type != NodeType::kSymlink) {
    return Err(Status::InvalidArgument(PathLocked(ino) + " is not a symlink"));
  }
  return n->meta.symlink_target;
}

Result<std::string> HeadTree::GetXattr(uint64_t ino, std::string_view name) {
  std::lock_guard<std::mutex> lock(s_->mu);
  HeadNode* n = FindLocked(ino);
  if (!n) return Err(Status::NotFound("head/: inode " + std::to_string(ino) + " is gone"));
  for (const auto& x : n->meta.xattrs) {
    if (x.name == name) return x.value;
  }
  return Err(Status::NotFound(PathLocked(ino) + ": no attribute " + std::string(name)));
}

Result<std::vector<std::string>> HeadTree::ListXattr(uint64_t ino) {
  std::lock_guard<std::mutex> lock(s_->mu);
  HeadNode* n = FindLocked(ino);
  if (!n) return Err(Status::NotFound("head/: inode " + std::to_string(ino) + " is gone"));
  std::vector<std::string> names;
  for (const auto& x : n->meta.xattrs) names.push_back(x.name);
  return names;
}

std::optional<FsSpaceInfo> HeadTree::StatFs() {
  auto space = s_->staging->Space();
  if (!space) return std::nullopt;
  FsSpaceInfo info;
  std::lock_guard<std::mutex> lock(s_->mu);
  info.total = space->total;
  info.available = space->available;
  if (opts_.staging_limit > 0) {
    info.total = opts_.staging_limit;
    info.available = std::min(info.available, opts_.staging_limit -
                                                  std::min(opts_.staging_limit, s_->staged_total));
  }
  info.files = s_->nodes.size();
  return info;
}

HeadStatus HeadTree::GetStatus() {
  HeadStatus st;
  st.series = opts_.series;
  if (base_) st.base = base_->id;
  st.staging_limit = opts_.staging_limit;
  st.sealing = s_->sealing.load();
  std::lock_guard<std::mutex> lock(s_->mu);
  if (s_->packer) {
    const HeadPackerStats p = s_->packer->stats();  // its lock is a leaf
    st.bytes_packed = p.bytes_packed;
    st.bytes_uploaded = p.bytes_uploaded;
    st.pack_error = p.error;
  }
  st.staged_bytes = s_->staged_total;
  for (const auto& [ino, n] : s_->nodes) {
    if (!n.dirty) continue;
    ++st.changed_entries;
    if (NeedsPack(n)) {
      ++st.files_pending;
    } else if (n.packed) {
      ++st.files_packed;
    }
    if (n.changed_ns > 0 && (st.oldest_change_ns == 0 || n.changed_ns < st.oldest_change_ns)) {
      st.oldest_change_ns = n.changed_ns;
    }
  }
  return st;
}

}  // namespace cairn
