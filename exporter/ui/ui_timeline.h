#pragma once

#include <string>
#include <string_view>

#include "common/json.h"

// The upload timeline page of the web UI (GET /ui/uploads/<uuid>): the picture the incident
// was solved with, drawn from the same JSON that GET /api/v1/uploads/<uuid> returns (one source
// of truth). One lane for the client and registry (POST, PATCH, PUT ... with status and
// duration), one for the store (create, listings, parts, complete), the visibility interval
// shaded, the first PATCH marked when it raced, the verdict in words above, and every event in
// a table below (the page works without script; tooltips are SVG titles). Times are relative
// to the POST, absolute times in the table and tooltips. Stateless; thread-safe.
namespace rrca::ui {

// The body of the page (escaped HTML, to be framed by Page()) for one upload's explain JSON.
std::string UploadTimelineBody(const Json& explain);

// The body saying that no upload has this id (the id escaped).
std::string UnknownUploadBody(std::string_view uuid);

}  // namespace rrca::ui
