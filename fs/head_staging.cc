#include "fs/head_staging.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <filesystem>

#include "common/bytes.h"
#include "repo/crypto.h"

namespace cairn {
namespace {

// Hash reads the ranges in pieces of this size: no buffer of a whole file.
constexpr size_t kHashPiece = size_t{1} << 20;

// "0000000000000abc": fixed width, so names sort like the numbers.
std::string HexName(uint64_t ino) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016" PRIx64, ino);
  return buf;
}

// The inverse of HexName; false for any other name (a temporary file, a
// stray copy), which List ignores.
bool ParseHexName(std::string_view name, uint64_t* ino) {
  if (name.size() != 16) return false;
  uint64_t v = 0;
  for (char c : name) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return false;
    }
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  *ino = v;
  return true;
}

std::string DataDir(const std::string& dir) { return dir + "/data"; }

// A full disk says where and what to do: the writer of head/ sees ENOSPC,
// the log and `cairn seal --status` this message.
Status NoSpaceIn(const std::string& dir, const std::string& path) {
  return Status::NoSpace("writing " + path + ": staging area full: free space in " + dir +
                         " or raise --staging-size");
}

}  // namespace

Result<std::unique_ptr<HeadStaging>> HeadStaging::Open(const std::string& dir, LocalFiles& files,
                                                       size_t max_open) {
  CAIRN_RETURN_IF_ERROR(files.CreateDir(dir));
  CAIRN_RETURN_IF_ERROR(files.CreateDir(DataDir(dir)));
  // data/ itself must survive a power cut, or every staging file in it would
  // go with it.
  CAIRN_RETURN_IF_ERROR(files.SyncDir(dir));
  return std::unique_ptr<HeadStaging>(new HeadStaging(dir, files, std::max<size_t>(max_open, 1)));
}

HeadStaging::~HeadStaging() = default;

std::string HeadStaging::PathOf(uint64_t ino) const { return DataDir(dir_) + "/" + HexName(ino); }

Result<std::shared_ptr<LocalFile>> HeadStaging::Handle(uint64_t ino, bool create) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = open_.find(ino);
    if (it != open_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second;
    }
  }
  // Opened outside mu_: an open(2) must not stall the other inodes. Calls
  // on one inode are serialised by the caller, so no other thread opens
  // ino meanwhile (if one did, the first handle cached wins below).
  std::string path = PathOf(ino);
  if (!create) {
    // Every cached handle is read-write (a later Write may reuse it), but
    // kReadWrite creates: probe first, so a missing file stays missing.
    CAIRN_ASSIGN_OR_RETURN(LocalFile probe, files_.Open(path, OpenMode::kRead));
    (void)probe.Close();
  }
  auto opened = files_.Open(std::move(path), OpenMode::kReadWrite, 0600);
  if (!opened) {
    if (opened.error().Is(ErrorCode::kNoSpace)) return Err(NoSpaceIn(dir_, PathOf(ino)));
    return Err(opened.error());
  }
  if (create) dir_dirty_.store(true);
  auto file = std::make_shared<LocalFile>(std::move(*opened));

  // Evicted handles are released after mu_: closing is a system call, and
  // a handle still in use by another thread closes when that thread drops
  // it (shared_ptr), never under it.
  std::vector<std::shared_ptr<LocalFile>> evicted;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = open_.find(ino);
  if (it != open_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    evicted.push_back(std::move(file));
    return it->second->second;
  }
  lru_.emplace_front(ino, file);
  open_[ino] = lru_.begin();
  while (lru_.size() > max_open_) {
    open_.erase(lru_.back().first);
    evicted.push_back(std::move(lru_.back().second));
    lru_.pop_back();
  }
  return file;
}

void HeadStaging::Drop(uint64_t ino) {
  std::shared_ptr<LocalFile> gone;  // closed after mu_ is released
  std::lock_guard<std::mutex> lock(mu_);
  auto it = open_.find(ino);
  if (it == open_.end()) return;
  gone = std::move(it->second->second);
  lru_.erase(it->second);
  open_.erase(it);
}

Status HeadStaging::Write(uint64_t ino, uint64_t offset, std::span<const uint8_t> data) {
  CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<LocalFile> file, Handle(ino, true));
  Status st = file->PWrite(data, offset);
  if (st.Is(ErrorCode::kNoSpace)) return NoSpaceIn(dir_, file->path());
  return st;
}

Status HeadStaging::Read(uint64_t ino, uint64_t offset, std::span<uint8_t> out) {
  if (out.empty()) return Status::OK();
  CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<LocalFile> file, Handle(ino, false));
  CAIRN_ASSIGN_OR_RETURN(size_t got, file->PRead(out.data(), out.size(), offset));
  std::fill(out.begin() + static_cast<ptrdiff_t>(got), out.end(), uint8_t{0});
  return Status::OK();
}

Status HeadStaging::Truncate(uint64_t ino, uint64_t size) {
  auto file = Handle(ino, false);
  // No staging file: nothing of ino is staged, so there is nothing to cut
  // (the tree records the new size itself).
  if (!file && file.error().Is(ErrorCode::kNotFound)) return Status::OK();
  if (!file) return file.error();
  Status st = (*file)->Truncate(size);
  if (st.Is(ErrorCode::kNoSpace)) return NoSpaceIn(dir_, (*file)->path());
  return st;
}

Status HeadStaging::Remove(uint64_t ino) {
  Drop(ino);
  Status st = files_.Unlink(PathOf(ino));
  return st.Is(ErrorCode::kNotFound) ? Status::OK() : st;
}

Status HeadStaging::DataSync(uint64_t ino) {
  auto file = Handle(ino, false);
  if (!file && file.error().Is(ErrorCode::kNotFound)) return Status::OK();
  if (!file) return file.error();
  CAIRN_RETURN_IF_ERROR((*file)->DataSync());
  // fdatasync does not make a new file's name durable: sync data/ too when
  // a staging file may have been created since its last sync. The flag is
  // cleared before the sync, so a create that lands during it keeps it set.
  if (dir_dirty_.exchange(false)) {
    Status st = files_.SyncDir(DataDir(dir_));
    if (!st.ok()) {
      dir_dirty_.store(true);
      return st;
    }
  }
  return Status::OK();
}

Result<Id> HeadStaging::Hash(uint64_t ino, std::span<const ByteRange> ranges) {
  Sha256Stream sha;
  uint64_t total = 0;
  for (const ByteRange& r : ranges) total += r.length;
  if (ranges.empty()) return sha.Finish();  // nothing staged: the file may be absent
  CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<LocalFile> file, Handle(ino, false));
  Bytes buf(static_cast<size_t>(std::min<uint64_t>(total, kHashPiece)));
  for (const ByteRange& r : ranges) {
    for (uint64_t done = 0; done < r.length;) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(r.length - done, buf.size()));
      CAIRN_ASSIGN_OR_RETURN(size_t got, file->PRead(buf.data(), n, r.offset + done));
      if (got < n) {
        return Err(Status::OutOfRange(
            file->path() + ": range " + std::to_string(r.offset) + "+" +
            std::to_string(r.length) + " ends past the staging file's end " +
            std::to_string(r.offset + done + got) + " (staged data was lost)"));
      }
      sha.Update(ByteView(buf.data(), n));
      done += n;
    }
  }
  return sha.Finish();
}

Result<std::vector<uint64_t>> HeadStaging::List() {
  // A directory listing is not behind the LocalFiles seam (no fault to
  // inject in it that a test needs): read it directly.
  std::vector<uint64_t> inos;
  std::error_code ec;
  const std::string data = DataDir(dir_);
  for (std::filesystem::directory_iterator it(data, ec), end; !ec && it != end;
       it.increment(ec)) {
    uint64_t ino;
    if (ParseHexName(it->path().filename().string(), &ino)) inos.push_back(ino);
  }
  if (ec) return Err(Status::IOError("listing " + data + ": " + ec.message()));
  std::sort(inos.begin(), inos.end());
  return inos;
}

Result<FsSpace> HeadStaging::Space() { return files_.StatFs(dir_); }

}  // namespace cairn
