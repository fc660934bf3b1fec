#include "exporter/app/cli.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "exporter/app/analyze.h"
#include "exporter/app/config.h"
#include "exporter/app/daemon.h"
#include "exporter/app/example_check.h"
#include "exporter/app/logging.h"
#include "exporter/app/probe_command.h"
#include "exporter/app/rule_suggest.h"
#include "exporter/app/rules_loader.h"

#ifndef RRCA_VERSION
#define RRCA_VERSION "dev"
#endif

namespace rrca::app {
namespace {

const char kUsage[] = R"(registry-rca: container-registry errors, explained by root cause

Usage:
  registry-rca serve --config.file=FILE [--web.listen-address=:9479] [--web.telemetry-path=/metrics]
                     [--web.config.file=FILE]
      Tail the configured registry logs and serve Prometheus metrics, /-/healthy, /-/ready.
  registry-rca analyze [--format=text|jsonl|metrics|html] [--config.file=FILE] [--s3-log=FILE]... [--proxy-log=FILE]... [--core-log=FILE]... FILE...
      Read registry logs (and object-store logs) from the start ("-" = stdin), print a report
      and exit.
      text: causes ranked, unclassified errors by message template, and "N of M lines not
      understood" with the first line of each reason. jsonl: one object per error response
      (each has a "cause" key), then one last {"summary": {...}} object (no "cause" key) with
      responses, errors, lines, lines_not_understood by reason and the unclassified templates.
      html: the web UI's overview, cause pages and upload timelines (every raced or failed
      upload, at most 200) as one self-contained file: registry-rca analyze --format=html
      --s3-log=STORE.log REGISTRY.log > report.html
  registry-rca check --config.file=FILE
      Validate the configuration and the rules, and run every rule's examples.
  registry-rca probe --config.file=FILE
      Run each configured probe (probes:) once and print its result, one logfmt line per probe;
      exit 1 when a probe failed.
  registry-rca rules suggest [--config.file=FILE] FILE...
      Read registry logs as analyze does and print a rules file with one rule skeleton per
      frequent message template of the errors no rule names, each with real lines as its
      example (proven to classify); rename the cause, save it under rules_files, run check.

Flags:
  --config.file=FILE          configuration file (YAML)
  --web.listen-address=ADDR   address to listen on (default ":9479")
  --web.telemetry-path=PATH   path for metrics (default "/metrics")
  --web.config.file=FILE      TLS and basic auth, in Prometheus exporter-toolkit's format
  --format=FORMAT             analyze output: text (default), jsonl (+ a final summary), metrics,
                              html (the web UI's views in one self-contained file)
  --s3-log=FILE               analyze: an object-store log (RGW, AWS access log, ...); repeatable
  --proxy-log=FILE            analyze: Harbor's nginx log (proxy.log) or an ingress-nginx log;
                              repeatable
  --core-log=FILE             analyze: Harbor core's log (core.log); repeatable
  --log.level=LEVEL           debug, info (default), warn, error
  --log.format=FORMAT         logfmt (default) or json
  --version                   print the version and exit
  --help                      print this help and exit
)";

struct Args {
  std::string command;
  std::map<std::string, std::string> flags;
  std::vector<std::string> positional;
  std::vector<std::string> s3_logs;     // --s3-log, repeatable
  std::vector<std::string> proxy_logs;  // --proxy-log, repeatable
  std::vector<std::string> core_logs;   // --core-log, repeatable
  std::string error;
};

// Accepts --name=value and --name value; a lone "-" is a positional (stdin).
Args ParseArgs(int argc, char** argv) {
  static const std::vector<std::string> kValueFlags = {
      "config.file", "web.listen-address", "web.telemetry-path",
      "format",      "log.level",          "log.format",
      "s3-log",      "web.config.file",    "proxy-log",
      "core-log"};
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0 || arg == "--") {
      if (args.command.empty() && arg != "-") {
        args.command = arg;
      } else {
        args.positional.push_back(arg);
      }
      continue;
    }
    std::string name = arg.substr(2);
    std::string value;
    const size_t equals = name.find('=');
    if (equals != std::string::npos) {
      value = name.substr(equals + 1);
      name = name.substr(0, equals);
    } else if (std::find(kValueFlags.begin(), kValueFlags.end(), name) != kValueFlags.end()) {
      if (i + 1 >= argc) {
        args.error = "flag --" + name + " needs a value";
        return args;
      }
      value = argv[++i];
    }
    if (name != "version" && name != "help" &&
        std::find(kValueFlags.begin(), kValueFlags.end(), name) == kValueFlags.end()) {
      args.error = "unknown flag --" + name;
      return args;
    }
    if (name == "proxy-log" || name == "core-log") {
      (name == "proxy-log" ? args.proxy_logs : args.core_logs).push_back(value);
      continue;
    }
    if (name == "s3-log") {
      args.s3_logs.push_back(value);
      continue;
    }
    args.flags[name] = value;
  }
  return args;
}

bool SetUpLogging(const Args& args) {
  const std::string format =
      args.flags.contains("log.format") ? args.flags.at("log.format") : "logfmt";
  const std::string level = args.flags.contains("log.level") ? args.flags.at("log.level") : "info";
  std::string error;
  if (!rrca::app::SetUpLogging(format, level, &error)) {
    std::fprintf(stderr, "registry-rca: %s\n", error.c_str());
    return false;
  }
  return true;
}

int RunCheck(const Args& args) {
  if (!args.flags.contains("config.file")) {
    std::fprintf(stderr, "registry-rca check: --config.file is required\n");
    return 2;
  }
  auto config = LoadConfig(args.flags.at("config.file"));
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().message().c_str());
    return 1;
  }
  auto rules = LoadRules(config.value());
  if (!rules.ok()) {
    std::fprintf(stderr, "%s\n", rules.status().message().c_str());
    return 1;
  }
  const auto failures = CheckRuleExamples(*rules.value(), config.value());
  for (const ExampleFailure& failure : failures) {
    std::fprintf(stderr, "%s: rule %s: %s\n", failure.location.c_str(), failure.rule.c_str(),
                 failure.message.c_str());
  }
  size_t examples = 0;
  for (const rules::Rule& rule : rules.value()->rules()) examples += rule.examples.size();
  std::printf("%s: %zu sources, %zu rules, %zu causes, %zu examples, %zu failing\n",
              config.value().file.c_str(), config.value().sources.size(),
              rules.value()->rules().size(), rules.value()->causes().size(), examples,
              failures.size());
  return failures.empty() ? 0 : 1;
}

// --config.file, when given, for the commands that work without one (analyze, rules suggest):
// false after printing the config's errors.
bool LoadConfigFlag(const Args& args, Config* config) {
  if (!args.flags.contains("config.file")) return true;
  auto loaded = LoadConfig(args.flags.at("config.file"));
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", loaded.status().message().c_str());
    return false;
  }
  *config = std::move(loaded.value());
  return true;
}

int RunAnalyzeCommand(const Args& args) {
  AnalyzeOptions options;
  options.files = args.positional;
  options.s3_files = args.s3_logs;
  options.proxy_files = args.proxy_logs;
  options.core_files = args.core_logs;
  if (options.files.empty() && options.proxy_files.empty() && options.core_files.empty()) {
    std::fprintf(stderr, "registry-rca analyze: name at least one log file (\"-\" = stdin)\n");
    return 2;
  }
  if (args.flags.contains("format")) options.format = args.flags.at("format");
  if (options.format != "text" && options.format != "jsonl" && options.format != "metrics" &&
      options.format != "html") {
    std::fprintf(stderr, "registry-rca analyze: --format must be text, jsonl, metrics or html\n");
    return 2;
  }
  if (!LoadConfigFlag(args, &options.config)) return 2;
  return RunAnalyze(options, stdout, stderr);
}

int RunRulesCommand(const Args& args) {
  if (args.positional.empty() || args.positional[0] != "suggest") {
    std::fprintf(stderr, "registry-rca rules: the only subcommand is: suggest FILE...\n");
    return 2;
  }
  SuggestOptions options;
  options.files.assign(args.positional.begin() + 1, args.positional.end());
  if (options.files.empty()) {
    std::fprintf(stderr,
                 "registry-rca rules suggest: name at least one log file (\"-\" = stdin)\n");
    return 2;
  }
  if (!LoadConfigFlag(args, &options.config)) return 2;
  return RunRulesSuggest(options, stdout, stderr);
}

}  // namespace

int RunCli(int argc, char** argv) {
  const Args args = ParseArgs(argc, argv);
  if (!args.error.empty()) {
    std::fprintf(stderr, "registry-rca: %s\n\n%s", args.error.c_str(), kUsage);
    return 2;
  }
  if (args.flags.contains("help") || args.command == "help") {
    std::printf("%s", kUsage);
    return 0;
  }
  if (args.flags.contains("version")) {
    std::printf("registry-rca %s\n", RRCA_VERSION);
    return 0;
  }
  if (!SetUpLogging(args)) return 2;
  if (args.command == "serve") {
    if (!args.flags.contains("config.file")) {
      std::fprintf(stderr, "registry-rca serve: --config.file is required\n");
      return 2;
    }
    ServeOptions options;
    options.config_file = args.flags.at("config.file");
    if (args.flags.contains("web.listen-address")) {
      options.listen_address = args.flags.at("web.listen-address");
    }
    if (args.flags.contains("web.telemetry-path")) {
      options.telemetry_path = args.flags.at("web.telemetry-path");
    }
    if (args.flags.contains("web.config.file")) {
      options.web_config_file = args.flags.at("web.config.file");
    }
    return RunServe(options);
  }
  if (args.command == "analyze") return RunAnalyzeCommand(args);
  if (args.command == "check") return RunCheck(args);
  if (args.command == "probe") {
    if (!args.flags.contains("config.file")) {
      std::fprintf(stderr, "registry-rca probe: --config.file is required\n");
      return 2;
    }
    return RunProbeCommand(args.flags.at("config.file"), stdout, stderr);
  }
  if (args.command == "rules") return RunRulesCommand(args);
  std::fprintf(
      stderr, "registry-rca: %s\n\n%s",
      args.command.empty() ? "a command is needed" : ("unknown command " + args.command).c_str(),
      kUsage);
  return 2;
}

}  // namespace rrca::app
