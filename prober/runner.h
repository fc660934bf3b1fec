#pragma once

#include <functional>
#include <thread>
#include <vector>

#include "prober/probe.h"
#include "prober/probe_config.h"
#include "prober/probe_result.h"
#include "prober/stop_signal.h"

namespace rrca::prober {

// Runs the configured probes on one thread of its own, one at a time, each every `interval`
// jittered by up to ±10 % (the first run within the first 10 % of an interval), and hands each
// result to `sink` on that thread. Bounded: one thread, one run at a time, each run bounded by
// its probe's timeout plus a few seconds of cleanup. Stop() wakes the thread, interrupts the
// running probe's transfer (its cleanup still runs, a few seconds at most) and joins it.
// Start and Stop are called from one thread (the daemon's); the sink must be thread-safe with
// respect to what else reads what it writes.
class ProbeRunner {
 public:
  // `index`: the probe's position in `probes`.
  using Sink = std::function<void(size_t index, const ProbeConfig&, const ProbeResult&)>;
  ProbeRunner(std::vector<ProbeConfig> probes, Sink sink);
  ~ProbeRunner();
  ProbeRunner(const ProbeRunner&) = delete;
  ProbeRunner& operator=(const ProbeRunner&) = delete;

  void Start();
  void Stop();

 private:
  void Loop();

  std::vector<ProbeConfig> probes_;
  Sink sink_;
  StopSignal stop_;
  std::thread thread_;
};

}  // namespace rrca::prober
