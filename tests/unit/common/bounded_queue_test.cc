// common/bounded_queue.h: TryPush never waits, refuses when full or closed, and leaves the value
// to the caller when it refuses (so the caller can count or keep it).
#include "common/bounded_queue.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace rrca {
namespace {

using std::chrono::milliseconds;

TEST(BoundedQueueTest, TryPushFillsToCapacityThenRefusesWithoutWaiting) {
  BoundedQueue<std::unique_ptr<int>> queue(2);
  auto first = std::make_unique<int>(1);
  auto second = std::make_unique<int>(2);
  auto third = std::make_unique<int>(3);
  EXPECT_TRUE(queue.TryPush(std::move(first)));
  EXPECT_TRUE(queue.TryPush(std::move(second)));
  EXPECT_EQ(first, nullptr);  // taken
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(queue.TryPush(std::move(third)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(500));  // did not wait
  ASSERT_NE(third, nullptr);  // refused: still the caller's
  EXPECT_EQ(*third, 3);
  EXPECT_EQ(queue.size(), 2u);

  // Room again after a Pop; order is FIFO.
  EXPECT_EQ(**queue.Pop(milliseconds(0)), 1);
  EXPECT_TRUE(queue.TryPush(std::move(third)));
  EXPECT_EQ(**queue.Pop(milliseconds(0)), 2);
  EXPECT_EQ(**queue.Pop(milliseconds(0)), 3);
  EXPECT_EQ(queue.size(), 0u);
}

TEST(BoundedQueueTest, TryPushBoundsTheSumOfSizesToo) {
  BoundedQueue<std::string> queue(10, 100);  // 10 items, 100 bytes
  EXPECT_TRUE(queue.TryPush("a", 60));
  EXPECT_TRUE(queue.HasRoom(40));
  EXPECT_FALSE(queue.HasRoom(41));
  EXPECT_FALSE(queue.TryPush("b", 41));  // 101 bytes: refused although 9 items are free
  EXPECT_TRUE(queue.TryPush("c", 40));   // exactly 100
  EXPECT_EQ(queue.bytes(), 100u);
  EXPECT_FALSE(queue.TryPush("d", 1));
  EXPECT_TRUE(queue.TryPush("e"));  // size 0 always fits while items are free
  EXPECT_EQ(*queue.Pop(milliseconds(0)), "a");
  EXPECT_EQ(queue.bytes(), 40u);  // the popped item's size is given back
  EXPECT_TRUE(queue.TryPush("f", 60));
  EXPECT_FALSE(queue.TryPush("g", SIZE_MAX));  // no overflow in the check
  queue.Close();
  EXPECT_FALSE(queue.HasRoom(0));
}

TEST(BoundedQueueTest, TryPushRefusesOnceClosedButPopDrains) {
  BoundedQueue<int> queue(4);
  EXPECT_TRUE(queue.TryPush(7));
  queue.Close();
  EXPECT_FALSE(queue.TryPush(8));
  EXPECT_EQ(queue.size(), 1u);
  EXPECT_EQ(queue.Pop(milliseconds(0)), 7);
  EXPECT_EQ(queue.Pop(milliseconds(0)), std::nullopt);
  EXPECT_TRUE(queue.closed_and_empty());
}

TEST(BoundedQueueTest, TryPushWakesAWaitingConsumer) {
  BoundedQueue<int> queue(1);
  std::optional<int> popped;
  const auto start = std::chrono::steady_clock::now();
  std::thread consumer([&] { popped = queue.Pop(std::chrono::seconds(30)); });
  std::this_thread::sleep_for(milliseconds(50));  // most often the consumer is waiting by now
  EXPECT_TRUE(queue.TryPush(5));
  consumer.join();
  EXPECT_EQ(popped, 5);
  // Without the notify the consumer would sleep out its 30 s.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

}  // namespace
}  // namespace rrca
