// The proxy-log corpus: nginx's lines as Harbor writes them (timed_combined access lines and
// error-log lines, plain and behind Harbor's syslog envelope), read by tailers::HopReader, against
// the registry's own log read by tailers::RegistryReader, per byte. The target: nginx lines parse
// at least as fast as registry lines per byte.
//
// The corpus is generated here (seeded, same bytes every run, about 5 MB): a docker-push mix of
// POST / PATCH (with the `_state` token) / PUT / HEAD / GET manifest requests, 2 % 401s, 1 % 499
// and 5xx with their error-log lines.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "bench/bench_corpus.h"
#include "tailers/parse/harbor/harbor_reader.h"
#include "tailers/parse/registry/registry_reader.h"

namespace {

namespace t = rrca::tailers;
using rrca::bench::Lines;

std::string Uuid(std::mt19937_64& random) {
  char text[40];
  std::snprintf(text, sizeof(text), "%08llx-%04llx-4%03llx-9%03llx-%012llx",
                static_cast<unsigned long long>(random() & 0xffffffffULL),
                static_cast<unsigned long long>(random() & 0xffffULL),
                static_cast<unsigned long long>(random() & 0xfffULL),
                static_cast<unsigned long long>(random() & 0xfffULL),
                static_cast<unsigned long long>(random() & 0xffffffffffffULL));
  return text;
}

std::string Digest(std::mt19937_64& random) {
  std::string digest = "sha256:";
  char part[17];
  for (int i = 0; i < 4; ++i) {
    std::snprintf(part, sizeof(part), "%016llx", static_cast<unsigned long long>(random()));
    digest += part;
  }
  return digest;
}

// One generated nginx log of about `bytes`; `syslog`: every line behind Harbor's envelope.
Lines* MakeProxyCorpus(size_t bytes, bool syslog) {
  auto* out = new Lines;
  std::mt19937_64 random(1);
  const std::string agent =
      "docker/24.0.7 go/go1.20.10 git-commit/311b9ff kernel/6.1.0-13-amd64 os/linux arch/amd64 "
      "UpstreamClient(Docker-Client/24.0.7 \\x5C(linux\\x5C))";
  const std::string state =
      "?_state=D96iXwZ6RLAn9jBeHH9ZBOpujNzVR8HSv9voV5p9nEJ7Ik5hbWUiOiJsYWIvaGFyYm9yIiwiVVVJRCI6"
      "IjAzNTk2MGZkLTg3NGYtNGQ4MS04NmQ4LTVlYzJkYmRiZjk2MiIsIk9mZnNldCI6MCwiU3RhcnRlZEF0IjoiMjAy"
      "Ni0xMi0wN1QxMDozNzo1NFoifQ%3D%3D";
  char buffer[4096];
  int second = 0;
  while (out->text.size() < bytes) {
    const std::string repo = "library/app" + std::to_string(random() % 50);
    const std::string uuid = Uuid(random);
    const std::string upload = "/v2/" + repo + "/blobs/uploads/" + uuid + state;
    const std::string prefix = syslog ? "Dec  7 10:" + std::to_string(10 + second / 60 % 50) + ":" +
                                            std::to_string(10 + second % 50) +
                                            " 172.18.0.1 proxy[1234]: "
                                      : std::string();
    ++second;
    auto access = [&](const std::string& request, int status, double seconds) {
      std::snprintf(buffer, sizeof(buffer),
                    "%s10.0.%d.%d - \"%s HTTP/1.1\" %d %d \"-\" \"%s\" %.3f %.3f .", prefix.c_str(),
                    static_cast<int>(random() % 255), static_cast<int>(random() % 255),
                    request.c_str(), status, status == 202 || status == 201 ? 0 : 157,
                    agent.c_str(), seconds, seconds);
      out->text += buffer;
      out->text += '\n';
    };
    access("HEAD /v2/" + repo + "/blobs/" + Digest(random), random() % 4 == 0 ? 200 : 404, 0.004);
    access("POST /v2/" + repo + "/blobs/uploads/", 202, 0.031);
    const unsigned roll = random() % 100;
    if (roll < 2) {
      access("PATCH " + upload, 401, 0.002);
    } else if (roll < 3) {
      const int status = roll % 2 == 0 ? 504 : 502;
      std::snprintf(
          buffer, sizeof(buffer),
          "%s2026/12/07 10:38:00 [error] 7#7: *%d upstream timed out (110: Connection timed "
          "out) while reading response header from upstream, client: 10.0.0.1, server: , "
          "request: \"PATCH %s HTTP/1.1\", upstream: \"http://172.18.0.5:8080%s\", host: "
          "\"harbor.example.com\"",
          prefix.c_str(), static_cast<int>(random() % 100000), upload.c_str(), upload.c_str());
      out->text += buffer;
      out->text += '\n';
      access("PATCH " + upload, status, 900.004);
    } else {
      access("PATCH " + upload, 202, 1.250);
      access("PUT " + upload + "&digest=" + Digest(random), 201, 0.090);
    }
    access("GET /v2/" + repo + "/manifests/v" + std::to_string(random() % 9), 200, 0.012);
  }
  out->bytes = out->text.size();
  std::string_view rest = out->text;
  while (!rest.empty()) {
    const size_t newline = rest.find('\n');
    out->lines.push_back(rest.substr(0, newline));
    rest.remove_prefix(newline + 1);
  }
  return out;
}

const Lines& ProxyPlain() {
  static const Lines* lines = MakeProxyCorpus(5 << 20, false);
  return *lines;
}
const Lines& ProxySyslog() {
  static const Lines* lines = MakeProxyCorpus(5 << 20, true);
  return *lines;
}
const Lines& Registry(const std::string& variant, const std::string& args) {
  return rrca::bench::LoadLines(rrca::bench::Corpus("registry-5M-" + variant + ".log", args));
}

class CountingHopSink : public t::HopEventSink {
 public:
  void OnHopEvent(const rrca::HopEvent& event) override {
    ++events;
    benchmark::DoNotOptimize(event.status);
  }
  uint64_t events = 0;
};

void BM_HopReader(benchmark::State& state, const Lines* (*corpus)()) {
  const Lines& lines = *corpus();
  CountingHopSink sink;
  uint64_t access = 0;
  for (auto _ : state) {
    t::HopReader reader({rrca::Hop::kProxy, t::EnvelopeHint::kAuto, 1 << 20, 2026}, &sink);
    for (std::string_view line : lines.lines) reader.OnLine(line);
    access = reader.stats().access_records;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * lines.bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * lines.lines.size()));
  state.counters["lines"] = static_cast<double>(lines.lines.size());
  state.counters["access_records"] = static_cast<double>(access);
  state.counters["events_per_pass"] =
      static_cast<double>(sink.events) / static_cast<double>(state.iterations());
}
BENCHMARK_CAPTURE(BM_HopReader, nginx_plain_5M, [] {
  return &ProxyPlain();
})->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_HopReader, nginx_syslog_5M, [] {
  return &ProxySyslog();
})->Unit(benchmark::kMillisecond);

class CountingRegistrySink : public t::RegistryEventSink {
 public:
  void OnRegistryEvent(const rrca::RegistryEvent& event) override {
    ++events;
    benchmark::DoNotOptimize(event.status);
  }
  uint64_t events = 0;
};

// The registry's side of the comparison, same sizes and envelopes (parsers_bench has more).
void BM_RegistryReaderSameSize(benchmark::State& state, const Lines* (*corpus)()) {
  const Lines& lines = *corpus();
  CountingRegistrySink sink;
  for (auto _ : state) {
    t::RegistryReader::Options options;
    options.syslog_year = 2026;
    t::RegistryReader reader(options, &sink);
    for (std::string_view line : lines.lines) reader.OnLine(line);
    reader.Flush();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * lines.bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * lines.lines.size()));
  state.counters["lines"] = static_cast<double>(lines.lines.size());
}
BENCHMARK_CAPTURE(BM_RegistryReaderSameSize, registry_text_5M, [] {
  return &Registry("text", "--size 5M");
})->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_RegistryReaderSameSize, registry_syslog_5M, [] {
  return &Registry("syslog", "--size 5M --envelope syslog");
})->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
