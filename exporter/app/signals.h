#pragma once

#include <functional>

namespace rrca::app {

// The daemon's signals: SIGTERM and SIGINT stop it, SIGHUP reloads its configuration. They are
// taken synchronously (sigwait) by one thread, so nothing runs in a signal handler.

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and every thread it starts later, and
// ignores SIGPIPE (a client that hangs up is a write error). Call first, before any thread starts.
void BlockDaemonSignals();

// Waits for SIGTERM or SIGINT and returns its number; calls `on_hangup` for each SIGHUP.
int WaitForStopSignal(const std::function<void()>& on_hangup);

}  // namespace rrca::app
