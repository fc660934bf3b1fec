#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>

namespace rrca {

// A FIFO with a fixed capacity between the tailer threads (producers) and the one processing
// thread (consumer). Push waits while the queue is full, so a burst slows the readers down
// instead of growing memory or dropping lines. Close() ends it: pending and later pushes
// return false, Pop hands out what is left and then returns nullopt at once.
// Thread-safe; T must be movable.
template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}
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
    items_.push_back(std::move(value));
    lock.unlock();
    not_empty_.notify_one();
    return true;
  }

  // Appends `value` if there is room now, never waiting: for producers that must not block
  // (an HTTP handler). Returns false when the queue is full or closed; `value` is moved from only
  // when true is returned. Counts nothing: the caller counts what it drops.
  bool TryPush(T&& value) {
    std::unique_lock lock(mutex_);
    if (closed_ || items_.size() >= capacity_) return false;
    items_.push_back(std::move(value));
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
    items_.push_back(std::move(value));
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
    std::optional<T> value(std::move(items_.front()));
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

 private:
  const size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<T> items_;
  bool closed_ = false;
};

}  // namespace rrca
