#pragma once

#include <cstdint>
#include <functional>

// The wall clock, in one place. A class that needs the time of day takes a WallClock as an
// option and falls back to WallNowNs, so a test can step time instead of sleeping. Log times
// drive the pipeline (joiner, correlator: AdvanceTo); the wall clock serves what happens now:
// positions' close times, reloads, the enricher's windows. Timeouts use
// std::chrono::steady_clock directly (BasicAuth takes one as an option).
namespace rrca {

// Nanoseconds since the Unix epoch (CLOCK_REALTIME). Thread-safe.
int64_t WallNowNs();

// A wall clock: nanoseconds since the Unix epoch. Empty means WallNowNs.
using WallClock = std::function<int64_t()>;

}  // namespace rrca
