// The correlator's memory bound (1,000,000 open uploads within 256 MiB).
//
//   build-perf/bench/memory_bench [--uploads=1000000] [--max-uploads=1000000]
//                                 [--mode=post|post+create|create] [--repos=1000]
//
// Feeds uploads that never finish into an UploadCorrelator (with its UploadMetrics and a
// RepositoryTable, as the pipeline wires them): each upload is a POST 202 the registry answered
// (mode post), or also the store's CreateMultipartUpload of its data key (post+create), or only
// the store's create (create). Distinct UUIDs, times 0.5 ms apart (all inside the 10 m reorder
// window, so nothing expires), AdvanceTo every 4096 uploads as the pipeline's Tick does.
// Prints VmRSS before and after, VmHWM, the delta per upload and the feed rate; exit status 1
// when the peak exceeds --limit-mib (default 256).
//
// Not a Google Benchmark: the number that matters is the process's resident memory, read from
// /proc/self/status. Linked like the micro-benchmarks (bench/CMakeLists.txt globs *_bench.cc).
#include <prometheus/registry.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include "common/event.h"
#include "common/request.h"
#include "exporter/metrics/upload_metrics.h"
#include "exporter/pipeline/correlator.h"
#include "exporter/pipeline/pipeline.h"
#include "exporter/pipeline/repository_table.h"
#include "rules/rule_set.h"

namespace {

using rrca::JoinedRequest;
using rrca::S3Event;

// VmRSS / VmHWM in KiB.
long ProcStatusKiB(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const size_t key_length = std::strlen(key);
  while (std::getline(in, line)) {
    if (line.compare(0, key_length, key) == 0 && line.size() > key_length &&
        line[key_length] == ':') {
      return std::strtol(line.c_str() + key_length + 1, nullptr, 10);
    }
  }
  return -1;
}

double MiB(long kib) { return static_cast<double>(kib) / 1024.0; }

// A v4-looking UUID from a counter: distinct for every n.
void UuidFor(uint64_t n, char out[37]) {
  const uint64_t high = n * 0x9e3779b97f4a7c15ULL;
  const uint64_t low = (n ^ 0x5bd1e9955bd1e995ULL) * 0xff51afd7ed558ccdULL + n;
  std::snprintf(
      out, 37, "%08llx-%04llx-4%03llx-8%03llx-%012llx", static_cast<unsigned long long>(high >> 32),
      static_cast<unsigned long long>((high >> 16) & 0xFFFF),
      static_cast<unsigned long long>(high & 0xFFF), static_cast<unsigned long long>(low >> 52),
      static_cast<unsigned long long>((low & 0xFFFFFFFFFFFFULL) ^ n));
}

struct Args {
  uint64_t uploads = 1'000'000;
  size_t max_uploads = 1'000'000;
  std::string mode = "post";
  size_t repos = 1000;
  double limit_mib = 256;
};

bool Flag(const char* arg, const char* name, std::string* value) {
  const size_t length = std::strlen(name);
  if (std::strncmp(arg, name, length) != 0 || arg[length] != '=') return false;
  *value = arg + length + 1;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string value;
    if (Flag(argv[i], "--uploads", &value)) {
      args.uploads = std::strtoull(value.c_str(), nullptr, 10);
    } else if (Flag(argv[i], "--max-uploads", &value)) {
      args.max_uploads = std::strtoull(value.c_str(), nullptr, 10);
    } else if (Flag(argv[i], "--mode", &value)) {
      args.mode = value;
    } else if (Flag(argv[i], "--repos", &value)) {
      args.repos = std::strtoull(value.c_str(), nullptr, 10);
    } else if (Flag(argv[i], "--limit-mib", &value)) {
      args.limit_mib = std::strtod(value.c_str(), nullptr);
    } else {
      std::fprintf(stderr,
                   "usage: %s [--uploads=N] [--max-uploads=N] [--mode=post|post+create|create] "
                   "[--repos=N] [--limit-mib=M]\n",
                   argv[0]);
      return 2;
    }
  }
  const bool post = args.mode == "post" || args.mode == "post+create";
  const bool create = args.mode == "create" || args.mode == "post+create";
  if (!post && !create) {
    std::fprintf(stderr, "unknown --mode=%s\n", args.mode.c_str());
    return 2;
  }

  auto registry = std::make_shared<prometheus::Registry>();
  rrca::pipeline::RepositoryTable repositories(args.repos + 10, {});
  rrca::metrics::UploadMetrics metrics(*registry);
  rrca::pipeline::UploadCorrelator::Options options;
  options.max_uploads = args.max_uploads;
  rrca::pipeline::UploadCorrelator correlator(options, &repositories, &metrics);

  // Label strings built up front, so the loop allocates only what the correlator keeps.
  std::vector<std::string> repo_names, keys_prefix;
  for (size_t r = 0; r < args.repos; ++r) {
    repo_names.push_back("team-" + std::to_string(r % 97) + "/app-" + std::to_string(r));
    keys_prefix.push_back("docker/registry/v2/repositories/" + repo_names.back() + "/_uploads/");
  }
  const rrca::rules::Verdict success;  // no rule: a success
  std::string uri, key;
  uri.reserve(256);
  key.reserve(256);

  const long rss_before = ProcStatusKiB("VmRSS");
  const long hwm_before = ProcStatusKiB("VmHWM");
  const int64_t t0 = 1'772'438'400'000'000'000;  // 2026-03-02T08:00:00Z
  const auto started = std::chrono::steady_clock::now();
  char uuid[37];
  for (uint64_t n = 0; n < args.uploads; ++n) {
    UuidFor(n, uuid);
    const std::string_view uuid_view(uuid, 36);
    const size_t r = static_cast<size_t>((n * 2654435761ULL) % args.repos);
    const int64_t time_ns = t0 + static_cast<int64_t>(n) * 500'000;  // 2,000 uploads/s
    if (create) {
      key.assign(keys_prefix[r]).append(uuid_view).append("/data");
      S3Event event;
      event.start_ns = time_ns - 40'000'000;
      event.duration_ns = 35'000'000;
      event.op = rrca::S3Op::kCreateMultipart;
      event.raw_operation = "REST.POST.UPLOADS";
      event.bucket = "harbor-registry";
      event.key = key;
      event.request_id = "3149F7D8A281AF25";
      event.status = 200;
      correlator.OnS3Event(event, "store");
    }
    if (post) {
      uri.assign("/v2/").append(repo_names[r]).append("/blobs/uploads/");
      JoinedRequest request;
      request.origin = JoinedRequest::Origin::kSummary;
      request.source = "registry";
      request.time_ns = time_ns;
      request.duration_ns = 45'000'000;
      request.arrival_ns = time_ns - request.duration_ns;
      request.request_id = uuid_view;  // any distinct id
      request.method = "POST";
      request.uri = uri;
      request.repository = repo_names[r];
      request.upload_uuid = uuid_view;
      request.operation = rrca::Operation::kBlobUploadStart;
      request.status = 202;
      request.level = rrca::Level::kInfo;
      request.msg = "response completed";
      const rrca::pipeline::Classified classified{request, success, "", repo_names[r]};
      correlator.OnClassified(classified);
    }
    if ((n + 1) % 4096 == 0) correlator.AdvanceTo(time_ns);
  }
  correlator.AdvanceTo(t0 + static_cast<int64_t>(args.uploads) * 500'000);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const long rss_after = ProcStatusKiB("VmRSS");
  const long hwm_after = ProcStatusKiB("VmHWM");
  const double delta_mib = MiB(rss_after - rss_before);
  const double per_upload =
      static_cast<double>(rss_after - rss_before) * 1024.0 / static_cast<double>(args.uploads);

  std::printf("mode=%s uploads=%llu max_uploads=%zu repos=%zu\n", args.mode.c_str(),
              static_cast<unsigned long long>(args.uploads), args.max_uploads, args.repos);
  std::printf("open_uploads=%zu\n", correlator.open_uploads());
  std::printf("VmRSS before=%.1f MiB after=%.1f MiB delta=%.1f MiB (%.0f bytes/upload)\n",
              MiB(rss_before), MiB(rss_after), delta_mib, per_upload);
  std::printf("VmHWM before=%.1f MiB after=%.1f MiB (process peak)\n", MiB(hwm_before),
              MiB(hwm_after));
  std::printf("feed: %.2f s, %.0f uploads/s\n", seconds,
              static_cast<double>(args.uploads) / seconds);
  const bool ok = MiB(hwm_after) <= args.limit_mib;
  std::printf("peak %s %.0f MiB: %s\n", ok ? "within" : "OVER", args.limit_mib, ok ? "ok" : "FAIL");
  return ok ? 0 : 1;
}
