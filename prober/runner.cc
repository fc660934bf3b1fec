#include "prober/runner.h"

#include <algorithm>
#include <chrono>
#include <random>

namespace rrca::prober {
namespace {

using Clock = std::chrono::steady_clock;

Clock::duration Jittered(std::chrono::milliseconds interval, double low, double high,
                         std::mt19937_64& random) {
  std::uniform_real_distribution<double> factor(low, high);
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(
      static_cast<double>(interval.count()) * factor(random)));
}

}  // namespace

ProbeRunner::ProbeRunner(std::vector<ProbeConfig> probes, Sink sink)
    : probes_(std::move(probes)), sink_(std::move(sink)) {}

ProbeRunner::~ProbeRunner() { Stop(); }

void ProbeRunner::Start() {
  if (probes_.empty() || thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

void ProbeRunner::Stop() {
  stop_.Stop();
  if (thread_.joinable()) thread_.join();
}

void ProbeRunner::Loop() {
  std::mt19937_64 random(std::random_device{}());
  std::vector<Clock::time_point> next(probes_.size());
  const Clock::time_point start = Clock::now();
  for (size_t i = 0; i < probes_.size(); ++i) {
    next[i] = start + Jittered(probes_[i].interval, 0.0, 0.1, random);
  }
  while (!stop_.stopped()) {
    const size_t due =
        static_cast<size_t>(std::min_element(next.begin(), next.end()) - next.begin());
    const Clock::time_point now = Clock::now();
    if (next[due] > now && !stop_.SleepFor(next[due] - now)) break;
    const ProbeResult result = RunProbe(probes_[due], stop_);
    if (result.reason == FailReason::kStopped) break;  // not the target's failure
    sink_(due, probes_[due], result);
    next[due] =
        std::max(Clock::now(), next[due] + Jittered(probes_[due].interval, 0.9, 1.1, random));
  }
}

}  // namespace rrca::prober
