#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace rrca::prober {

// A one-way "stop now" shared by the prober's thread and whoever stops it: probes sleep on it
// between checks and their transfers poll it, so a stop is seen within a few milliseconds.
// Thread-safe.
class StopSignal {
 public:
  void Stop() {
    {
      std::lock_guard lock(mutex_);
      if (!stopped_) stopped_at_ = std::chrono::steady_clock::now();
      stopped_ = true;
    }
    wake_.notify_all();
  }
  bool stopped() const {
    std::lock_guard lock(mutex_);
    return stopped_;
  }
  // True once stopped for at least `grace` (with a zero grace: stopped()).
  bool StoppedFor(std::chrono::steady_clock::duration grace) const {
    std::lock_guard lock(mutex_);
    return stopped_ && std::chrono::steady_clock::now() - stopped_at_ >= grace;
  }
  // Sleeps `duration` unless stopped first; returns false when stopped.
  bool SleepFor(std::chrono::steady_clock::duration duration) const {
    std::unique_lock lock(mutex_);
    return !wake_.wait_for(lock, duration, [this] { return stopped_; });
  }

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable wake_;
  bool stopped_ = false;
  std::chrono::steady_clock::time_point stopped_at_;
};

}  // namespace rrca::prober
