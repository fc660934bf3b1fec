#pragma once

#include <string>
#include <string_view>

#include "common/json.h"
#include "exporter/pipeline/hop_joiner.h"
#include "rules/rule_set.h"

namespace rrca::pipeline {

// Adds to an upload's explain JSON (UploadCorrelator::Explain) the responses the hops in front
// of the registry gave to its requests (HopJoiner::HistoryOf), as its last member:
//   "hops":[{"hop":"proxy","time":"<RFC3339>","offset_seconds":12.5,"method":"PATCH",
//            "uri":"...","status":504,"duration_seconds":60,"cause":"proxy_upstream_timeout",
//            "source":"<file>","line":"<raw line(s), at most 2 KiB>"}]
// "time" is when the request reached the hop (its end when nginx logged no $request_time),
// like the registry events' "time"; "offset_seconds" is relative to the upload's POST (its
// registry event) and absent when that is unknown; "duration_seconds" is null when unknown;
// seconds are rounded to microseconds. "cause" is the cause the rules give the hop's response
// when it was counted at the hop, null when the registry's own count stands (it logged the
// status the client saw). Always present, [] when the hops logged nothing of the upload.
// `explain` must be an object; anything else is left unchanged. Pure; call under the lock that
// guards `joiner` and `rules`.
void AddHops(std::string_view uuid, const HopJoiner& joiner, const rules::RuleSet& rules,
             Json* explain);

}  // namespace rrca::pipeline
