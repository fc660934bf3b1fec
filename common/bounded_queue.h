#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>

namespace rrca {

// A FIFO with a fixed capacity between producers and one consumer: the tailer threads and the
// processing thread, the HTTP handlers and the alert enricher's worker. Push waits while the
// queue is full, so a burst slows the readers down instead of growing memory or dropping lines;
// TryPush never waits and says no instead. Besides the number of items, the queue can bound the
// sum of their sizes (`max_bytes`, the sizes TryPush is given): a few huge items then fill it as
// surely as many small ones. Close() ends it: pending and later pushes return false, Pop hands
// out what is left and then returns nullopt at once. Thread-safe; T must be movable.
template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity, size_t max_bytes = SIZE_MAX)
      : capacity_(capacity == 0 ? 1 : capacity), max_bytes_(max_bytes) {}
  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  // Appends `value`, waiting for room. Returns false (value dropped) only once closed.
  // When `waited` is given, it is set to how long the call waited for room (zero: none).
  bool Push(T value, std::chrono::nanoseconds* waited = nullptr) {
    std::unique_lock lock(mutex_);
    if (waited != nullptr) *waited = std::chrono::nanoseconds::zero();
    if (items_.size() >= capacity_ && !closed_) {
      const auto start = std::chrono::steady_clock::now();
      not_full_.wait(lock, [&] { return items_.size() < capacity_ || closed_; });
      if (waited != nullptr) *waited = std::chrono::steady_clock::now() - start;
    }
    if (closed_) return false;
    items_.push_back({std::move(value), 0});
    lock.unlock();
    not_empty_.notify_one();
    return true;
  }

  // Appends `value`, of `bytes` towards max_bytes, if there is room now, never waiting: for
  // producers that must not block (an HTTP handler). Returns false when the queue is full (items
  // or bytes) or closed; `value` is moved from only when true is returned. Counts nothing: the
  // caller counts what it drops.
  bool TryPush(T&& value, size_t bytes = 0) {
    std::unique_lock lock(mutex_);
    if (!HasRoomLocked(bytes)) return false;
    bytes_ += bytes;
    items_.push_back({std::move(value), bytes});
    lock.unlock();
    not_empty_.notify_one();
    return true;
  }

  enum class PushResult { kPushed, kTimedOut, kClosed };
  // Like Push, but waits at most `timeout`; `value` is moved from only when kPushed.
  template <typename Rep, typename Period>
  PushResult PushFor(T& value, std::chrono::duration<Rep, Period> timeout) {
    std::unique_lock lock(mutex_);
    if (!not_full_.wait_for(lock, timeout, [&] { return items_.size() < capacity_ || closed_; })) {
      return PushResult::kTimedOut;
    }
    if (closed_) return PushResult::kClosed;
    items_.push_back({std::move(value), 0});
    lock.unlock();
    not_empty_.notify_one();
    return PushResult::kPushed;
  }

  // The oldest item, waiting up to `timeout` for one. nullopt on timeout or closed and empty.
  template <typename Rep, typename Period>
  std::optional<T> Pop(std::chrono::duration<Rep, Period> timeout) {
    std::unique_lock lock(mutex_);
    if (!not_empty_.wait_for(lock, timeout, [&] { return !items_.empty() || closed_; })) {
      return std::nullopt;
    }
    if (items_.empty()) return std::nullopt;
    std::optional<T> value(std::move(items_.front().value));
    bytes_ -= items_.front().bytes;
    items_.pop_front();
    lock.unlock();
    not_full_.notify_one();
    return value;
  }

  // Wakes every waiter; see the class comment. Idempotent.
  void Close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    not_full_.notify_all();
    not_empty_.notify_all();
  }

  bool closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
  }
  // True once closed and every item was popped: the consumer may stop.
  bool closed_and_empty() const {
    std::lock_guard lock(mutex_);
    return closed_ && items_.empty();
  }
  size_t size() const {
    std::lock_guard lock(mutex_);
    return items_.size();
  }
  size_t capacity() const { return capacity_; }
  // The sum of the sizes of the items in the queue.
  size_t bytes() const {
    std::lock_guard lock(mutex_);
    return bytes_;
  }
  // Whether TryPush of an item of `bytes` would succeed now.
  bool HasRoom(size_t bytes) const {
    std::lock_guard lock(mutex_);
    return HasRoomLocked(bytes);
  }

 private:
  struct Item {
    T value;
    size_t bytes;
  };
  bool HasRoomLocked(size_t bytes) const {
    return !closed_ && items_.size() < capacity_ && bytes <= max_bytes_ - bytes_;
  }

  const size_t capacity_;
  const size_t max_bytes_;
  mutable std::mutex mutex_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<Item> items_;
  size_t bytes_ = 0;  // the sum of items_' bytes, at most max_bytes_
  bool closed_ = false;
};

}  // namespace rrca
