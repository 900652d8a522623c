#include "common/byte_budget.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace cairn {
namespace {

// Eight workers taking items of 10..40 bytes under a 100-byte budget: the
// bytes held at once never pass the limit (counted independently of the
// budget's own bookkeeping), and every item is taken.
TEST(ByteBudgetTest, ConcurrentHoldersStayUnderTheLimit) {
  ByteBudget budget(100);
  std::atomic<uint64_t> held{0}, max_held{0};
  std::atomic<int> done{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 8; ++w) {
    workers.emplace_back([&, w] {
      for (int i = 0; i < 50; ++i) {
        const uint64_t n = 10 + static_cast<uint64_t>((w * 7 + i * 3) % 31);
        ByteBudget::Hold hold(budget, n);
        uint64_t now = held.fetch_add(n) + n;
        uint64_t seen = max_held.load();
        while (now > seen && !max_held.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(std::chrono::microseconds(50));
        held.fetch_sub(n);
        done.fetch_add(1);
      }
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(done.load(), 400);
  EXPECT_LE(max_held.load(), 100u);
  EXPECT_LE(budget.peak(), 100u);
  EXPECT_GT(budget.peak(), 40u);  // more than one item was held at once
}

// An item larger than the whole budget is not refused: it waits until
// nothing else is held, then is held alone.
TEST(ByteBudgetTest, OversizedItemGoesAlone) {
  ByteBudget budget(100);
  std::atomic<bool> small_held{false}, big_held{false};
  std::thread small([&] {
    ByteBudget::Hold hold(budget, 60);
    small_held = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_FALSE(big_held.load());  // the big item waits for this one
  });
  while (!small_held.load()) std::this_thread::yield();
  {
    ByteBudget::Hold hold(budget, 500);
    big_held = true;
  }
  small.join();
  EXPECT_EQ(budget.peak(), 500u);  // alone: not 560
}

}  // namespace
}  // namespace cairn
