#pragma once

namespace rrca::exporter {

// The command line (a contract):
//   registry-rca serve --config.file=FILE [--web.listen-address=:9479]
//                      [--web.telemetry-path=/metrics]
//   registry-rca analyze [--format=text|jsonl|metrics] [--config.file=FILE] FILE... ("-" = stdin)
//   registry-rca check --config.file=FILE
//   registry-rca probe --config.file=FILE
//   registry-rca rules suggest [--config.file=FILE] FILE... ("-" = stdin)
//   registry-rca --version | --help, and --log.level=debug|info|warn|error on every command.
int RunCli(int argc, char** argv);

}  // namespace rrca::exporter
