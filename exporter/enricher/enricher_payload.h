#pragma once

#include <string>

#include "common/json.h"

// Pure functions on Alertmanager's webhook payload (version 4), for the alert enricher. Each is
// linear in the payload's size, whatever a hostile payload holds.
namespace rrca::enricher {

// Empty when `payload` has Alertmanager's webhook shape (the parts the enricher touches), else
// what is wrong.
std::string CheckPayload(const Json& payload);

// The alert's `fingerprint`, or its labels serialized when it has none.
std::string FingerprintOf(const Json& alert);

// Adds to `commonAnnotations` every rca_* annotation that all alerts carry with the same value
// (templates often read only the common ones). `payload` must have passed CheckPayload.
void UpdateCommonAnnotations(Json* payload);

}  // namespace rrca::enricher
