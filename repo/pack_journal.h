// PackJournal: the packs a writer is storing or has stored but no index
// segment names yet, kept in the repository's local cache directory, so that
// the packs of a killed backup are indexed by the next writer with the same
// cache instead of being stored again (or waiting for `cairn index
// rebuild`). BlobSaver appends a record before a pack's Put starts (so no
// kill can fall between a stored pack and its record; the reader keeps only
// packs the store holds) and empties the journal, but for packs still being
// stored, once an index segment naming the others is stored. Byte layout
// and recovery rule: doc/format.md, "Pack journal (local cache)".
//
// Slots: the journal is kSlots files <dir>/pack-journal.<k>. A writer holds
// an flock on the slot it appends to for as long as it lives, so writers
// sharing a cache each have their own, and a slot nobody holds belongs to a
// writer that died (or ended cleanly, leaving it empty). Open claims every
// free slot, reads their records, and keeps the first as its own; Clear
// empties them all (but for the records it is told to keep) and releases
// the others.
//
// Cost: one pwrite + fdatasync per pack (~16 MiB of data) in Append; the
// hot path (blobs) never touches the journal.
//
// Not thread-safe: BlobSaver calls it under its index mutex.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/local_files.h"
#include "common/status.h"
#include "repo/index.h"

namespace cairn {

class PackJournal {
 public:
  static constexpr int kSlots = 8;
  // Records larger than this are damage, not packs (a 16 MiB pack of 4 KiB
  // blobs makes a record of ~200 KiB).
  static constexpr uint32_t kMaxRecord = 64u << 20;

  // Claims the free slots in dir (which must exist), reads their records and
  // cuts a damaged tail off its own slot so appends follow the last good
  // record. Locked when every slot is held by a live writer; I/O errors as
  // the LocalFiles seam reports them. files must outlive the journal.
  static Result<std::unique_ptr<PackJournal>> Open(LocalFiles& files, const std::string& dir);
  ~PackJournal();  // closes the slots (releasing their flocks); writes nothing
  PackJournal(const PackJournal&) = delete;
  PackJournal& operator=(const PackJournal&) = delete;

  // The packs recorded in the claimed slots when Open read them: each pack
  // once, in file order, up to the first damaged record of each slot.
  const std::vector<IndexPack>& recovered() const { return recovered_; }
  // How many slots Open claimed (>= 1), and how many of them had a damaged
  // tail (for tests and logs).
  size_t claimed_slots() const { return slots_.size(); }
  size_t damaged_slots() const { return damaged_; }
  const std::string& path() const { return slots_.front().file.path(); }

  // Appends one record to the own slot; durable (fdatasync) when it returns
  // OK. On error the slot is cut back to its last good record when
  // possible, and further Appends fail until a Clear succeeds.
  Status Append(const IndexPack& pack);
  // Empties every claimed slot (durably) and releases all but the own one;
  // the own slot then holds exactly the records of keep. Call only once an
  // index segment names every recorded pack not in keep.
  Status Clear(std::span<const IndexPack* const> keep = {});

  // Encodes one record (length, checksum, payload); exposed for tests that
  // build damaged journals.
  static Bytes EncodeRecord(const IndexPack& pack);
  static constexpr size_t kHeaderSize = 8;
  static const char kMagic[kHeaderSize + 1];

 private:
  struct Slot {
    LocalFile file;  // write handle; holds the flock
    uint64_t end = 0;  // end of the last good record
  };
  explicit PackJournal(std::vector<Slot> slots) : slots_(std::move(slots)) {}
  // Reads one slot's records into recovered_ (skipping packs already seen);
  // sets slot.end and returns whether a damaged tail followed them.
  Result<bool> ReadSlot(const LocalFile& reader, Slot& slot);

  std::vector<Slot> slots_;  // [0] is the own slot
  std::vector<IndexPack> recovered_;
  size_t damaged_ = 0;
  Status broken_;  // the Append error that stopped appends until a Clear
};

}  // namespace cairn
