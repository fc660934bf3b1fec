#pragma once

namespace rrca::app {

// The command line (a contract; the full text is `registry-rca --help`, kUsage in cli.cc):
//   registry-rca serve --config.file=FILE [--web.listen-address=:9479]
//                      [--web.telemetry-path=/metrics] [--web.config.file=FILE]
//   registry-rca analyze [--format=text|jsonl|metrics|html] [--config.file=FILE]
//                        [--s3-log=FILE]... [--proxy-log=FILE]... [--core-log=FILE]... FILE...
//                        ("-" = stdin)
//   registry-rca check --config.file=FILE
//   registry-rca probe --config.file=FILE
//   registry-rca rules suggest [--config.file=FILE] FILE... ("-" = stdin)
//   registry-rca --version | --help; --log.level=debug|info|warn|error and
//   --log.format=logfmt|json on every command.
int RunCli(int argc, char** argv);

}  // namespace rrca::app
