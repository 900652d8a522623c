// HeadPacker: the background half of head/'s write path (doc/semantics.md,
// "Background packing"). Files written in head/ are chunked, deduplicated,
// compressed, encrypted and packed while rsync goes on, so `cairn seal` has
// little left to do: it takes a file's packed content when the file did not
// change since (HeadTree checks the version), and chunks only the others.
//
// The packer knows nothing of the tree: its Host (HeadTree) hands out the
// next file due (keyed by inode, FIFO with an idle delay and an age bound)
// as a SourceFile at one version, and takes the result back. One worker
// thread reads and chunks (FileReader), an encoder pool encodes big chunks,
// a BlobSaver uploads full packs and writes index segments.
//
// Durability: blobs go through BlobSaver, so every pack uploaded is in the
// pack journal (repo/pack_journal.h) until an index segment names it; a
// killed daemon's packs are indexed by the next writer (the packer after a
// restart, or the seal), and a file whose result was lost is chunked again
// by the seal (its blobs then dedup against those packs). Staged data is
// never freed here: only a seal frees it.
//
// Thread safety: all public methods may be called from any thread. Lock
// order: mu_ is a leaf; the worker calls the Host without holding it (the
// Host takes the tree's mutex), and holds no lock while reading, encoding
// or uploading.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/status.h"
#include "common/thread_pool.h"
#include "repo/blob_saver.h"
#include "repo/file_reader.h"
#include "repo/repository.h"
#include "repo/source.h"

namespace cairn {

struct HeadPackerOptions {
  // A file is packed once nothing wrote to it for idle_ns (head/ has no
  // OPEN/RELEASE: the kernel opens files itself, so idleness is the sign
  // that a writer is done) ...
  int64_t idle_ns = 2 * int64_t{1'000'000'000};
  // ... or once it waited max_age_ns since its first unpacked write, idle
  // or not, so a file written without pause does not wait forever.
  int64_t max_age_ns = 60 * int64_t{1'000'000'000};
  // Encoder threads for chunks too big to encode on the worker (0: one).
  size_t encoder_threads = 1;
  // Concurrent pack uploads.
  size_t upload_threads = 2;
  bool enabled = true;  // false: no thread; the seal chunks everything
};

// What the packer did since the last ResetStats (the last seal).
struct HeadPackerStats {
  uint64_t files_packed = 0;   // results handed to the tree
  uint64_t bytes_packed = 0;   // logical bytes of those files
  uint64_t data_blobs = 0;     // new blobs stored
  uint64_t raw_bytes = 0;      // their plaintext bytes
  uint64_t bytes_uploaded = 0; // bytes of packs stored
  uint64_t packs_uploaded = 0;
  uint64_t queued = 0;         // files waiting (HeadTree fills it in)
  std::string error;           // the last upload or read error ("": none)
};

class HeadPacker {
 public:
  // One file to pack: its content as the tree showed it at version
  // (gen, base_gen), read through file.
  struct Job {
    uint64_t ino = 0;
    uint64_t gen = 0;
    uint64_t base_gen = 0;
    std::unique_ptr<SourceFile> file;
  };
  // The tree side; both calls come from the packer's worker thread.
  class Host {
   public:
    virtual ~Host() = default;
    // The next file due (all: every queued file is due, idle or not); when
    // none, nullopt and *wait_ns: how long until one may be due.
    virtual std::optional<Job> NextJob(bool all, int64_t* wait_ns) = 0;
    // The content of job as stored blobs (indexed once the packer flushes;
    // the seal's walker checks every blob against the index anyway). The
    // tree keeps it only while the file is still at the job's version.
    virtual void JobDone(const Job& job, FileContent content) = 0;
    // The job was cancelled (by a Pause): the file waits again. (A job that
    // failed otherwise is dropped: the seal reads the file, and a change
    // queues it again.)
    virtual void JobCancelled(const Job& job) = 0;
  };

  // Starts the worker (unless !opts.enabled). repo and host must outlive
  // the packer.
  HeadPacker(Repository& repo, Host& host, const HeadPackerOptions& opts);
  // Stops the worker (a job in flight is cancelled) and waits for uploads
  // in flight, but stores nothing more: like a killed daemon (packs
  // uploaded are in the pack journal; a partial pack is lost and its files
  // chunked again by the seal). Call Pause first to store everything.
  ~HeadPacker();
  HeadPacker(const HeadPacker&) = delete;
  HeadPacker& operator=(const HeadPacker&) = delete;

  // A file was queued or written: look at the queue soon.
  void Wake();
  // Stops taking jobs (a job in flight is cancelled: the seal chunks that
  // file itself) and stores what was packed: partial packs uploaded, the
  // index segment written, so every result handed out names indexed blobs.
  // Returns the first upload error. Pauses nest; each needs a Resume.
  Status Pause();
  void Resume();
  // Packs every queued file now, idle or not, then stores as Pause does
  // (`cairn umount`: staged data stored before the unmount). Cancelled
  // when *cancel becomes true; waits while a Pause holds the worker.
  Status Drain(const std::atomic<bool>* cancel);

  HeadPackerStats stats() const;
  void ResetStats();

 private:
  void Loop();
  Status RunJob(Job& job);
  // Waits for the encoders, flushes the saver and drops it (a BlobSaver
  // takes no Add after Flush); the next job makes a new one.
  Status StoreLocked(std::unique_lock<std::mutex>& lock);

  Repository& repo_;
  Host& host_;
  const HeadPackerOptions opts_;
  ThreadPool encoders_;
  // Used by the worker while busy_, or by StoreLocked while the worker
  // is idle or paused; replaced only under mu_.
  std::unique_ptr<BlobSaver> saver_;
  std::unique_ptr<FileReader> reader_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;            // GUARDED_BY(mu_)
  bool busy_ = false;            // GUARDED_BY(mu_) the worker is outside the lock
  bool woken_ = false;           // GUARDED_BY(mu_)
  int paused_ = 0;               // GUARDED_BY(mu_)
  int drainers_ = 0;             // GUARDED_BY(mu_)
  uint64_t drain_epoch_ = 0;     // GUARDED_BY(mu_) drains completed
  Status drain_status_;          // GUARDED_BY(mu_) first error since drainers_ was 0
  HeadPackerStats stats_;        // GUARDED_BY(mu_) but the saver's part
  std::atomic<bool> cancel_job_{false};
  std::thread worker_;
};

}  // namespace cairn
