#include "exporter/app/probe_command.h"

#include "exporter/app/config.h"
#include "prober/probe.h"

namespace rrca::app {
namespace {

// A logfmt value: quoted, with \ and " escaped and control characters dropped.
std::string Quote(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= ' ') out += c;
  }
  return out + "\"";
}

}  // namespace

int RunProbeCommand(const std::string& config_file, std::FILE* out, std::FILE* err) {
  auto config = LoadConfig(config_file);
  if (!config.ok()) {
    std::fprintf(err, "%s\n", config.status().message().c_str());
    return 2;
  }
  if (config.value().probes.empty()) {
    std::fprintf(err, "%s: no probes: configured (see README, \"Active probes\")\n",
                 config_file.c_str());
    return 2;
  }
  prober::StopSignal never;
  int failed = 0;
  for (const prober::ProbeConfig& probe : config.value().probes) {
    const prober::ProbeResult result = prober::RunProbe(probe, never);
    std::fprintf(out, "probe=%s target=%s result=%s",
                 std::string(prober::KindName(probe.kind)).c_str(), probe.name.c_str(),
                 result.ok() ? "ok" : "fail");
    if (!result.ok()) {
      std::fprintf(out, " reason=%s", std::string(prober::FailReasonName(result.reason)).c_str());
      ++failed;
    }
    if (result.measured) {
      std::fprintf(
          out, " visibility_seconds=%.4f visible_after_seconds=%.4f visible_by_seconds=%.4f",
          result.visibility_seconds, result.visible_after_seconds, result.visible_by_seconds);
    }
    std::fprintf(out, " create_seconds=%.4f checks=%d duration_seconds=%.4f", result.create_seconds,
                 result.checks, result.duration_seconds);
    if (probe.kind == prober::ProbeConfig::Kind::kStore) {
      std::fprintf(out, " leftovers_aborted=%d", result.leftovers_aborted);
    }
    if (!result.detail.empty()) std::fprintf(out, " detail=%s", Quote(result.detail).c_str());
    std::fprintf(out, "\n");
    std::fflush(out);
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace rrca::app
