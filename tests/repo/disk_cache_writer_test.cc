// DiskCacheWriter: every queued write reaches the sink once, in order,
// before Flush or the destructor returns; the queue never holds more than
// its bound; a full queue drops a write that may not wait and holds back
// one that may until the sink made room.
#include "repo/disk_cache_writer.h"
#include "tests/support/test_data.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace cairn {
namespace {

// A sink that records what it was given and can be held closed.
class Sink {
 public:
  DiskCacheWriter::Sink Fn() {
    return [this](const Id& id, ByteView stored) {
      std::unique_lock<std::mutex> lock(mu_);
      ++entered_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return open_; });
      ids_.push_back(id);
      sizes_.push_back(stored.size());
      bytes_.emplace_back(stored.begin(), stored.end());
      done_.fetch_add(1);
    };
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = false;
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  // Waits until the sink was entered n times (held there while closed).
  void WaitEntered(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return entered_ >= n; });
  }
  std::vector<Id> ids() {
    std::lock_guard<std::mutex> lock(mu_);
    return ids_;
  }
  std::vector<Bytes> bytes() {
    std::lock_guard<std::mutex> lock(mu_);
    return bytes_;
  }
  int done() const { return done_.load(); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  int entered_ = 0;
  std::vector<Id> ids_;
  std::vector<size_t> sizes_;
  std::vector<Bytes> bytes_;
  std::atomic<int> done_{0};
};

DiskCacheWriter::Write W(uint8_t id, std::shared_ptr<const Bytes> range, size_t off, size_t len) {
  return {test::FilledId(id), std::move(range), off, len};
}

TEST(DiskCacheWriterTest, WritesSlicesOfTheRangeInQueueOrderBeforeFlushReturns) {
  Sink sink;
  DiskCacheWriter w(sink.Fn(), 1 << 20);
  auto range = std::make_shared<const Bytes>(Bytes{1, 2, 3, 4, 5, 6, 7, 8});
  ASSERT_TRUE(w.Queue(W(1, range, 0, 3), false));
  ASSERT_TRUE(w.Queue(W(2, range, 3, 5), true));
  ASSERT_TRUE(w.Queue(W(3, range, 8, 0), false));
  w.Flush();
  EXPECT_EQ(sink.ids(), (std::vector<Id>{test::FilledId(1), test::FilledId(2), test::FilledId(3)}));
  EXPECT_EQ(sink.bytes(), (std::vector<Bytes>{{1, 2, 3}, {4, 5, 6, 7, 8}, {}}));
  EXPECT_EQ(w.written(), 3u);
  EXPECT_EQ(w.dropped(), 0u);
}

TEST(DiskCacheWriterTest, AFullQueueDropsAWriteThatMayNotWait) {
  Sink sink;
  sink.Close();
  DiskCacheWriter w(sink.Fn(), 100);
  auto range = std::make_shared<const Bytes>(100);
  ASSERT_TRUE(w.Queue(W(1, range, 0, 60), false));
  sink.WaitEntered(1);  // being written: still counts against the bound
  ASSERT_TRUE(w.Queue(W(2, range, 60, 40), false));
  EXPECT_FALSE(w.Queue(W(3, range, 0, 1), false)) << "100 of 100 bytes pending";
  EXPECT_EQ(w.dropped(), 1u);
  sink.Open();
  w.Flush();
  EXPECT_EQ(sink.ids(), (std::vector<Id>{test::FilledId(1), test::FilledId(2)}));
  EXPECT_EQ(w.written(), 2u);
}

TEST(DiskCacheWriterTest, AFullQueueHoldsBackAWriteThatMayWaitUntilThereIsRoom) {
  Sink sink;
  sink.Close();
  DiskCacheWriter w(sink.Fn(), 100);
  auto range = std::make_shared<const Bytes>(100);
  ASSERT_TRUE(w.Queue(W(1, range, 0, 100), false));
  sink.WaitEntered(1);
  int done_when_queued = -1;
  std::thread waiter([&] {
    EXPECT_TRUE(w.Queue(W(2, range, 0, 50), /*may_wait=*/true));
    done_when_queued = sink.done();
  });
  sink.Open();
  waiter.join();
  EXPECT_GE(done_when_queued, 1) << "queued only once the first write made room";
  w.Flush();
  EXPECT_EQ(sink.ids(), (std::vector<Id>{test::FilledId(1), test::FilledId(2)}));
  EXPECT_EQ(w.dropped(), 0u);
}

TEST(DiskCacheWriterTest, AWriteLargerThanTheBoundIsDroppedWithoutWaiting) {
  Sink sink;
  sink.Close();
  DiskCacheWriter w(sink.Fn(), 10);
  auto range = std::make_shared<const Bytes>(100);
  ASSERT_TRUE(w.Queue(W(1, range, 0, 10), false));
  sink.WaitEntered(1);
  // Would deadlock if it waited: the sink is closed until after it returns.
  EXPECT_FALSE(w.Queue(W(2, range, 0, 11), /*may_wait=*/true));
  EXPECT_EQ(w.dropped(), 1u);
  sink.Open();
}

TEST(DiskCacheWriterTest, DestructorWritesEverythingQueued) {
  Sink sink;
  sink.Close();
  {
    DiskCacheWriter w(sink.Fn(), 1 << 20);
    auto range = std::make_shared<const Bytes>(10);
    for (uint8_t i = 0; i < 5; ++i) ASSERT_TRUE(w.Queue(W(i, range, i, 1), false));
    sink.WaitEntered(1);
    sink.Open();
  }
  EXPECT_EQ(sink.done(), 5);
}

TEST(DiskCacheWriterTest, FlushWithNothingQueuedReturns) {
  Sink sink;
  DiskCacheWriter w(sink.Fn(), 0);
  w.Flush();
  EXPECT_EQ(w.written(), 0u);
}

}  // namespace
}  // namespace cairn
