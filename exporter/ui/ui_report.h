#pragma once

#include <string>
#include <vector>

#include "common/json.h"

// analyze's HTML report (`registry-rca analyze --format=html`): the web UI's views in one file
// that stands alone, for an incident ticket: the overview, a page per cause and the timelines
// of the uploads, drawn by the same renderers from the same JSON as the daemon's pages, with
// the style sheet inline, no script and nothing fetched from anywhere. Links between the views
// point inside the file; links to the daemon's routes are left as plain text. Stateless;
// thread-safe.
namespace rrca::ui {

struct ReportInput {
  const Json* causes = nullptr;      // GET /api/v1/causes' JSON over all the log time read
  const Json* latency = nullptr;     // GET /api/v1/latency's JSON
  std::vector<Json> cause_pages{};   // GET /api/v1/causes/<cause>'s JSON, one per cause
  std::vector<Json> uploads{};       // GET /api/v1/uploads/<uuid>'s JSON, one per timeline
  size_t uploads_left_out = 0;       // timelines not drawn (the report's bound)
  std::vector<std::string> files{};  // what was read, as named on the command line
};

// The whole document.
std::string OfflineReport(const ReportInput& input);

}  // namespace rrca::ui
