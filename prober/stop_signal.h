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
      stopped_ = true;
    }
    wake_.notify_all();
  }
  bool stopped() const {
    std::lock_guard lock(mutex_);
    return stopped_;
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
};

}  // namespace rrca::prober
