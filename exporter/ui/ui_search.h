#pragma once

#include <string>

#include "common/json.h"

// The web UI's search results (GET /ui/search?q=…) for a request id or a repository: the
// recent errors that carry it, each with its cause (linked to the cause page) and its upload
// (linked to the timeline). An upload UUID the correlator knows never gets here: it redirects
// to the timeline. Drawn from RecentErrors::Search. Stateless; thread-safe.
namespace rrca::ui {

// The body of the page (escaped HTML, to be framed by Page()).
std::string SearchBody(const Json& search);

}  // namespace rrca::ui
