#pragma once

#include <string>
#include <string_view>

#include "common/json.h"

// The web UI's page of one cause (GET /ui/causes/<cause>?since=1h): what it means and its
// runbook (from the rule catalogue), its count and sparkline over the window, its top
// repositories and operations, the latest example requests with their error detail, and the
// uploads involved (each linked to its timeline). Drawn from the JSON that
// GET /api/v1/causes/<cause>?since=… returns. Stateless; thread-safe.
namespace rrca::ui {

// The body of the page (escaped HTML, to be framed by Page()) for the cause API's answer.
std::string CauseBody(const Json& cause, std::string_view window);

}  // namespace rrca::ui
