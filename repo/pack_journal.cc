// Pack journal. Layout and recovery rule: doc/format.md, "Pack journal
// (local cache)".
#include "repo/pack_journal.h"

#include <sys/file.h>

#include <cerrno>
#include <cstring>
#include <unordered_set>

#include "common/coding.h"
#include "common/errno_status.h"
#include "repo/crypto.h"

namespace cairn {

const char PackJournal::kMagic[kHeaderSize + 1] = "cairnPJ1";

namespace {

constexpr size_t kRecordHead = 8;  // fixed32 length + 4 checksum bytes

void Checksum(ByteView payload, uint8_t out[4]) {
  Id h = Sha256(payload);
  std::memcpy(out, h.bytes.data(), 4);
}

// Reads the whole file (a journal holds at most a few segments' worth).
Result<Bytes> ReadAll(const LocalFile& f) {
  Bytes all;
  constexpr size_t kChunk = 64 << 10;
  for (;;) {
    const size_t at = all.size();
    all.resize(at + kChunk);
    CAIRN_ASSIGN_OR_RETURN(size_t n, f.PRead(all.data() + at, kChunk, at));
    all.resize(at + n);
    if (n < kChunk) return all;
  }
}

}  // namespace

Bytes PackJournal::EncodeRecord(const IndexPack& pack) {
  IndexSegment seg;
  seg.packs.push_back(pack);
  Bytes payload = EncodeIndexSegment(seg);
  Bytes rec;
  rec.reserve(kRecordHead + payload.size());
  PutFixed32(rec, static_cast<uint32_t>(payload.size()));
  uint8_t sum[4];
  Checksum(payload, sum);
  rec.insert(rec.end(), sum, sum + 4);
  cairn::Append(rec, payload);
  return rec;
}

Result<std::unique_ptr<PackJournal>> PackJournal::Open(LocalFiles& files, const std::string& dir) {
  std::vector<Slot> slots;
  std::vector<LocalFile> readers;  // parallel to slots; closed when absent
  Status first_error;
  auto note = [&](const Status& s) {
    if (first_error.ok()) first_error = s;
  };
  for (int k = 0; k < kSlots; ++k) {
    std::string path = dir + "/pack-journal." + std::to_string(k);
    auto reader = files.Open(path, OpenMode::kRead);
    if (!reader) {
      // A missing slot has nothing to recover; create one only to own it.
      if (!reader.error().Is(ErrorCode::kNotFound)) note(reader.error());
      if (!reader.error().Is(ErrorCode::kNotFound) || !slots.empty()) continue;
    }
    auto writer = files.Open(path, OpenMode::kWrite, 0600);
    if (!writer) {
      note(writer.error());
      continue;
    }
    if (::flock(writer->fd(), LOCK_EX | LOCK_NB) != 0) {
      // Held by a live writer (EWOULDBLOCK), or no locks here (ENOLCK):
      // either way not ours to read or empty.
      if (errno != EWOULDBLOCK) note(StatusFromErrno(errno, "locking " + path));
      continue;
    }
    slots.push_back(Slot{std::move(*writer), 0});
    readers.push_back(reader ? std::move(*reader) : LocalFile());
  }
  if (slots.empty()) {
    if (!first_error.ok()) return Err(first_error);
    return Err(Status::Locked("all " + std::to_string(kSlots) + " pack journals in " + dir +
                              " are held by running cairn processes"));
  }
  std::unique_ptr<PackJournal> j(new PackJournal(std::move(slots)));
  bool own_damaged = false;
  for (size_t i = 0; i < j->slots_.size(); ++i) {
    if (!readers[i].is_open()) continue;  // created just now: empty
    CAIRN_ASSIGN_OR_RETURN(bool damaged, j->ReadSlot(readers[i], j->slots_[i]));
    j->damaged_ += damaged;
    if (i == 0) own_damaged = damaged;
    (void)readers[i].Close();
  }
  // Appends go to the own slot right after its last good record.
  Slot& own = j->slots_.front();
  if (own.end < kHeaderSize) {
    CAIRN_RETURN_IF_ERROR(own.file.Truncate(0));
    CAIRN_RETURN_IF_ERROR(own.file.PWrite(AsBytes(std::string_view(kMagic, kHeaderSize)), 0));
    own.end = kHeaderSize;
    CAIRN_RETURN_IF_ERROR(own.file.DataSync());
  } else if (own_damaged) {
    CAIRN_RETURN_IF_ERROR(own.file.Truncate(own.end));
    CAIRN_RETURN_IF_ERROR(own.file.DataSync());
  }
  return j;
}

Result<bool> PackJournal::ReadSlot(const LocalFile& reader, Slot& slot) {
  CAIRN_ASSIGN_OR_RETURN(Bytes all, ReadAll(reader));
  slot.end = 0;
  if (all.size() < kHeaderSize || std::memcmp(all.data(), kMagic, kHeaderSize) != 0) {
    return !all.empty();  // not a journal (or torn while its header was written)
  }
  std::unordered_set<Id, IdHash> seen;
  for (const IndexPack& p : recovered_) seen.insert(p.pack);
  size_t at = kHeaderSize;
  while (all.size() - at >= kRecordHead) {
    const uint32_t n = DecodeFixed32(all.data() + at);
    if (n == 0 || n > kMaxRecord || all.size() - at - kRecordHead < n) break;
    ByteView payload(all.data() + at + kRecordHead, n);
    uint8_t sum[4];
    Checksum(payload, sum);
    if (std::memcmp(sum, all.data() + at + 4, 4) != 0) break;
    auto seg = DecodeIndexSegment(payload);
    if (!seg || seg->packs.size() != 1 || !seg->supersedes.empty()) break;
    if (seen.insert(seg->packs[0].pack).second) recovered_.push_back(std::move(seg->packs[0]));
    at += kRecordHead + n;
  }
  slot.end = at;
  return at < all.size();
}

Status PackJournal::Append(const IndexPack& pack) {
  if (!broken_.ok()) return broken_;
  Slot& own = slots_.front();
  Bytes rec = EncodeRecord(pack);
  Status s = own.file.PWrite(rec, own.end);
  if (s.ok()) s = own.file.DataSync();
  if (!s.ok()) {
    // Cut the torn record off so a later record is not hidden behind it;
    // if even that fails, appends stop until Clear rewrites the slot.
    if (own.file.Truncate(own.end).ok() && own.file.DataSync().ok()) return s;
    broken_ = s;
    return s;
  }
  own.end += rec.size();
  return Status::OK();
}

Status PackJournal::Clear(std::span<const IndexPack* const> keep) {
  // The own slot is rewritten in place: header, the kept records, cut after
  // them. A crash half way leaves whole old records behind the new ones at
  // worst, which name packs a stored segment already names: the reader
  // skips or re-indexes them, both harmless.
  Bytes own(kMagic, kMagic + kHeaderSize);
  for (const IndexPack* p : keep) cairn::Append(own, EncodeRecord(*p));
  Status first;
  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot& slot = slots_[i];
    // The others become empty files.
    const uint64_t size = i == 0 ? own.size() : 0;
    Status s = i == 0 ? slot.file.PWrite(own, 0) : Status::OK();
    if (s.ok()) s = slot.file.Truncate(size);
    if (s.ok()) s = slot.file.DataSync();
    if (s.ok()) {
      slot.end = size;
    } else if (first.ok()) {
      first = s;
    }
  }
  if (!first.ok()) return first;
  // The others are empty now: let other writers have them.
  while (slots_.size() > 1) {
    (void)slots_.back().file.Close();
    slots_.pop_back();
  }
  broken_ = Status::OK();
  return Status::OK();
}

PackJournal::~PackJournal() = default;

}  // namespace cairn
