// Serves HttpServer with a --web.config.file, for tests/e2e/web_security_test.sh, until SIGTERM.
//
//   web_server_tool [--web.config.file=FILE] [--web.listen-address=127.0.0.1:0]
//                   [--port_file=FILE] [--head_timeout_ms=N]
//
// Routes: /metrics (a small exposition), /-/healthy, POST /echo (returns the body). Prints
// "listening on port N" and writes N to --port_file once serving. Exit 2: bad web config or
// flags (errors on stderr), 1: cannot listen, 0: stopped by a signal.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "exporter/web/http_server.h"
#include "exporter/web/web_config.h"

namespace {

using rrca::web::HttpRequest;
using rrca::web::HttpResponse;

bool Flag(const std::string& arg, const std::string& name, std::string* value) {
  const std::string prefix = "--" + name + "=";
  if (arg.rfind(prefix, 0) != 0) return false;
  *value = arg.substr(prefix.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string web_config_file, listen = "127.0.0.1:0", port_file, head_timeout_ms;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (!Flag(arg, "web.config.file", &web_config_file) &&
        !Flag(arg, "web.listen-address", &listen) && !Flag(arg, "port_file", &port_file) &&
        !Flag(arg, "head_timeout_ms", &head_timeout_ms)) {
      std::fprintf(stderr, "web_server_tool: unknown argument %s\n", arg.c_str());
      return 2;
    }
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread starts

  rrca::web::HttpServer http;
  if (!web_config_file.empty()) {
    auto config = rrca::web::LoadWebConfig(web_config_file);
    if (!config.ok()) {
      std::fprintf(stderr, "%s\n", config.status().message().c_str());
      return 2;
    }
    if (rrca::Status set = http.SetWebConfig(config.value()); !set.ok()) {
      std::fprintf(stderr, "%s\n", set.message().c_str());
      return 2;
    }
  }
  if (!head_timeout_ms.empty()) {
    rrca::web::FrontOptions options;
    options.head_timeout = std::chrono::milliseconds(std::stol(head_timeout_ms));
    http.SetFrontOptions(options);
  }
  http.Route(
      "/metrics",
      [](const HttpRequest&) {
        return HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8",
                            "# HELP web_tool_up 1\n# TYPE web_tool_up gauge\nweb_tool_up 1\n"};
      },
      rrca::web::HttpServer::RouteKind::kScrape);
  http.Route("/-/healthy", [](const HttpRequest&) { return HttpResponse{200, "", "Healthy\n"}; });
  http.Route(
      "/echo",
      [](const HttpRequest& request) {
        return HttpResponse{200, "text/plain",
                            request.method + " " + request.user + " " + request.body};
      },
      rrca::web::HttpServer::RouteKind::kRead, rrca::web::HttpServer::kMaxBodyBytes);
  if (rrca::Status started = http.Start(listen); !started.ok()) {
    std::fprintf(stderr, "%s\n", started.message().c_str());
    return 1;
  }
  std::printf("listening on port %d (%s)\n", http.port(), http.tls() ? "TLS" : "plaintext");
  std::fflush(stdout);
  if (!port_file.empty()) {
    const std::string temp = port_file + ".tmp";
    std::ofstream(temp) << http.port() << "\n";
    std::rename(temp.c_str(), port_file.c_str());
  }
  int signal = 0;
  sigwait(&signals, &signal);
  http.Stop();
  return 0;
}
