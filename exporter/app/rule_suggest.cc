#include "exporter/app/rule_suggest.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <memory>

#include "common/json_escape.h"
#include "exporter/app/analyze.h"
#include "exporter/app/example_check.h"
#include "exporter/app/report.h"
#include "exporter/app/rules_loader.h"
#include "exporter/pipeline/pipeline.h"
#include "tailers/follow/line_reader.h"

namespace rrca::app {
namespace {

constexpr size_t kMaxIdLines = 30;  // lines naming one request id, kept as candidates
constexpr size_t kMaxHits = 5;      // lines found by the message's text (or tried alone)
constexpr size_t kContext = 3;      // lines before and after a hit tried as part of its record

// A temporary file removed when it goes out of scope.
class TempFile {
 public:
  TempFile() {
    const char* dir = std::getenv("TMPDIR");
    path_ = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/registry-rca-XXXXXX";
    const int fd = mkstemp(path_.data());
    if (fd < 0) {
      path_.clear();
      return;
    }
    close(fd);
  }
  ~TempFile() {
    if (!path_.empty()) unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// stdin is read twice (judged, then searched for the example lines): it is copied first.
bool SpoolStdin(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return false;
  char buffer[65536];
  size_t n;
  bool ok = true;
  while ((n = std::fread(buffer, 1, sizeof(buffer), stdin)) > 0) {
    ok &= std::fwrite(buffer, 1, n, file) == n;
  }
  return std::fclose(file) == 0 && ok;
}

// "suggested_1_frobnicator_jammed_widget": the first literal words of the template.
std::string RuleName(const pipeline::MessageTemplate& tmpl, size_t index) {
  std::string name = "suggested_" + std::to_string(index);
  size_t words = 0;
  std::string_view text = tmpl.text;
  for (size_t pos = 0; pos < text.size() && words < 4;) {
    if (text[pos] == '<') {  // a placeholder
      const size_t close = text.find('>', pos);
      pos = close == std::string_view::npos ? text.size() : close + 1;
      continue;
    }
    std::string word;
    while (pos < text.size() && std::isalnum(static_cast<unsigned char>(text[pos]))) {
      word.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(text[pos++]))));
    }
    if (word.empty()) {
      ++pos;
      continue;
    }
    name += "_" + word;
    ++words;
  }
  return name;
}

// Text for a YAML comment or a one-line summary: valid UTF-8, no control bytes, cut.
std::string OneLine(std::string_view text, size_t max) {
  std::string out = SanitizeUtf8(text.substr(0, max));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return out;
}

// Whether the lines can sit verbatim in a YAML block scalar: printable, valid UTF-8, and the
// first line not indented (its indentation would be taken for the block's).
bool FitsBlockScalar(std::string_view lines) {
  if (lines.empty() || !IsValidUtf8(lines)) return false;
  if (lines[0] == ' ' || lines[0] == '\t' || lines[0] == '\n') return false;
  for (char c : lines) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\n' && c != '\t') || byte == 0x7f) return false;
  }
  return true;
}

// The literal run of the example most likely to appear as is in the raw line (no characters a
// log format escapes), for finding lines of requests that have no id.
std::string Needle(std::string_view example) {
  std::string_view best;
  size_t start = 0;
  for (size_t i = 0; i <= example.size(); ++i) {
    const bool plain = i < example.size() &&
                       (std::isalnum(static_cast<unsigned char>(example[i])) ||
                        std::string_view(" :_.-/").find(example[i]) != std::string_view::npos);
    if (plain) continue;
    if (i - start > best.size()) best = example.substr(start, i - start);
    start = i + 1;
  }
  return best.size() >= 8 ? std::string(best) : std::string();
}

// A line that names the request (or carries its message), with the lines around it: a record
// may begin on an earlier physical line or go on over the next ones (raw newlines inside a
// quoted value, as registry 2.7 writes them).
struct Hit {
  std::vector<std::string> before;  // oldest first, at most kContext
  std::string line;
  std::vector<std::string> after;  // at most kContext
};

struct Search {
  const pipeline::TemplateTable::Entry* entry;
  std::string id;    // the request id ("" when none)
  std::string text;  // a literal run of the message, or the URI ("" when none)
  std::vector<Hit> id_hits;
  std::vector<Hit> text_hits;
};

// Reads the files once, collecting the hits of every template.
void FindHits(const std::vector<std::string>& files, size_t max_line_bytes,
              std::vector<Search>* searches) {
  for (const std::string& file : files) {
    std::string error;
    std::unique_ptr<tailers::LineReader> reader(
        tailers::LineReader::Open(file, max_line_bytes, &error));
    if (reader == nullptr) continue;
    std::vector<std::string> window;
    std::vector<Hit*> open;  // hits still taking the lines after them (stable: reserved)
    for (Search& search : *searches) {
      search.id_hits.reserve(kMaxIdLines);
      search.text_hits.reserve(kMaxHits);
    }
    std::string_view line;
    while (reader->Next(&line)) {
      std::erase_if(open, [&](Hit* hit) {
        hit->after.emplace_back(line);
        return hit->after.size() >= kContext;
      });
      for (Search& search : *searches) {
        if (!search.id.empty() && search.id_hits.size() < kMaxIdLines &&
            line.find(search.id) != std::string_view::npos) {
          search.id_hits.push_back({window, std::string(line), {}});
          open.push_back(&search.id_hits.back());
        }
        if (!search.text.empty() && search.text_hits.size() < kMaxHits &&
            line.find(search.text) != std::string_view::npos) {
          search.text_hits.push_back({window, std::string(line), {}});
          open.push_back(&search.text_hits.back());
        }
      }
      if (window.size() == kContext) window.erase(window.begin());
      window.emplace_back(line);
    }
  }
}

// `hits`, each with `before` lines before it and `after` after it, in order, once each.
std::string Join(const std::vector<const Hit*>& hits, size_t before, size_t after) {
  std::vector<const std::string*> lines;
  auto add = [&](const std::string& line) {
    if (std::find_if(lines.begin(), lines.end(),
                     [&](const std::string* l) { return *l == line; }) == lines.end())
      lines.push_back(&line);
  };
  for (const Hit* hit : hits) {
    for (size_t i = hit->before.size() - std::min(before, hit->before.size());
         i < hit->before.size(); ++i)
      add(hit->before[i]);
    add(hit->line);
    for (size_t i = 0; i < after && i < hit->after.size(); ++i) add(hit->after[i]);
  }
  std::string joined;
  for (const std::string* line : lines) joined += *line + "\n";
  return joined;
}

// Candidate examples, most precise first: all the lines naming the request id (with 0..3 lines
// before each), then each hit alone (an id shared by several requests, as "xxx" in a redacted
// paste, or a line found by the message's text) with up to 3 lines around it, fewest first.
std::vector<std::string> Candidates(const Search& search) {
  std::vector<std::string> out;
  auto offer = [&](std::string joined) {
    if (FitsBlockScalar(joined) && std::find(out.begin(), out.end(), joined) == out.end())
      out.push_back(std::move(joined));
  };
  if (!search.id_hits.empty()) {
    std::vector<const Hit*> all;
    for (const Hit& hit : search.id_hits) all.push_back(&hit);
    for (size_t before = 0; before <= kContext; ++before) offer(Join(all, before, 0));
  }
  std::vector<const Hit*> singles;
  for (size_t i = 0; i < search.id_hits.size() && i < kMaxHits; ++i)
    singles.push_back(&search.id_hits[i]);
  for (const Hit& hit : search.text_hits) singles.push_back(&hit);
  for (const Hit* hit : singles) {
    for (size_t size = 0; size <= 2 * kContext; ++size) {
      for (size_t before = 0; before <= std::min(size, kContext); ++before) {
        if (size - before <= kContext) offer(Join({hit}, before, size - before));
      }
    }
  }
  return out;
}

// The default catalogue, the config's rule files and `extra` (a rules file), compiled.
StatusOr<std::shared_ptr<const rules::RuleSet>> LoadWith(const Config& config,
                                                         const std::string& extra) {
  std::vector<std::string> errors;
  rules::LoadOptions options;
  options.default_rules_yaml = std::string(rules::DefaultRulesYaml());
  options.default_rules_name = "rules/default_rules.yaml";
  options.user_rule_files = ExpandRuleFiles(config, &errors);
  options.user_rule_files.push_back(extra);
  options.param_overrides = config.rule_params;
  if (!errors.empty()) return Status::InvalidArgument(errors.front());
  return rules::RuleSet::Load(options);
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << text;
  return static_cast<bool>(file.flush());
}

// The first candidate that, with this rule added to the rules in force, yields errors this rule
// classifies, each of them (what `registry-rca check` demands of a match example); "" if none.
// The rules are compiled once: examples do not change how a rule classifies.
std::string ProvenExample(const Search& search, size_t index, const Config& config,
                          const std::string& scratch) {
  const std::vector<std::string> candidates = Candidates(search);
  if (candidates.empty()) return "";
  if (!WriteFile(scratch, "rules:\n" + app::RuleSkeletonYaml(*search.entry, index, candidates[0])))
    return "";
  auto rules = LoadWith(config, scratch);
  if (!rules.ok()) return "";
  const std::string expected =
      RuleName(search.entry->tmpl, index) + ":new_cause_" + std::to_string(index);
  for (const std::string& candidate : candidates) {
    const auto verdicts = ClassifyExample(candidate, *rules.value(), config);
    if (!verdicts.empty() && std::all_of(verdicts.begin(), verdicts.end(),
                                         [&](const std::string& v) { return v == expected; })) {
      return candidate;
    }
  }
  return "";
}

}  // namespace

std::string YamlSingleQuoted(std::string_view text) {
  std::string out = "'";
  for (char c : OneLine(text, text.size())) {
    out.push_back(c);
    if (c == '\'') out.push_back('\'');
  }
  return out + "'";
}

std::string RuleSkeletonYaml(const pipeline::TemplateTable::Entry& entry, size_t index,
                             const std::string& example) {
  const std::string cause = "new_cause_" + std::to_string(index);
  std::string yaml = "  # " + std::to_string(entry.count) + " unclassified errors with " +
                     entry.tmpl.field + " like: " + OneLine(entry.tmpl.text, 160) + "\n";
  yaml += "  - name: " + RuleName(entry.tmpl, index) + "\n";
  yaml += "    cause: " + cause + "       # TODO: name the cause (snake_case, a contract)\n";
  yaml += "    severity: warning       # TODO: critical | warning | info\n";
  yaml += "    summary: " +
          YamlSingleQuoted("TODO: what failed and what to do. Seen as: " +
                           OneLine(entry.example, 100)) +
          "\n";
  yaml += "    runbook: " + YamlSingleQuoted("TODO: a runbook section for " + cause) + "\n";
  yaml +=
      "    match:\n      " + entry.tmpl.field + ": " + YamlSingleQuoted(entry.tmpl.pattern) + "\n";
  if (entry.tmpl.field == "status") {  // no message: the status of one operation
    yaml += "      operation: '^" + std::string(OperationName(entry.operation)) + "$'\n";
  }
  if (example.empty()) return yaml;
  yaml += "    examples:\n      match:\n        # real: the first such request of the input\n";
  yaml += "        - |\n";
  size_t start = 0;
  while (start < example.size()) {
    size_t end = example.find('\n', start);
    if (end == std::string::npos) end = example.size();
    yaml += "          " + example.substr(start, end - start) + "\n";
    start = end + 1;
  }
  return yaml;
}

int RunRulesSuggest(const SuggestOptions& options, std::FILE* out, std::FILE* err) {
  TempFile spool, scratch;
  if (spool.path().empty() || scratch.path().empty()) {
    std::fprintf(err, "registry-rca rules suggest: cannot create a temporary file\n");
    return 1;
  }
  AnalyzeOptions analyze;
  analyze.config = options.config;
  for (const std::string& file : options.files) {
    if (file != "-") {
      analyze.files.push_back(file);
    } else if (std::find(analyze.files.begin(), analyze.files.end(), spool.path()) ==
               analyze.files.end()) {
      if (!SpoolStdin(spool.path())) {
        std::fprintf(err, "registry-rca rules suggest: cannot copy stdin\n");
        return 1;
      }
      analyze.files.push_back(spool.path());
    }
  }
  auto rules = LoadRules(options.config);
  if (!rules.ok()) {
    std::fprintf(err, "registry-rca: invalid rules:\n%s\n", rules.status().message().c_str());
    return 2;
  }
  pipeline::Pipeline pipeline(PipelineOptionsFrom(options.config, 2026), rules.value(), nullptr);
  TextReport report;
  pipeline.AddObserver(&report);
  if (FeedFiles(analyze, pipeline, nullptr, err) < 0) return 1;

  const auto top = report.templates().Top(options.max_rules);
  if (top.empty()) {
    std::fprintf(out, "# registry-rca rules suggest: every error has a cause; nothing to add.\n");
    return 0;
  }
  std::vector<Search> searches;
  for (const pipeline::TemplateTable::Entry* entry : top) {
    std::string text = entry->tmpl.field != "status" ? Needle(entry->example)
                       : entry->uri.size() >= 8      ? entry->uri
                                                     : std::string();
    searches.push_back({entry, entry->request_id, std::move(text), {}, {}});
  }
  FindHits(analyze.files, options.config.max_line_bytes, &searches);

  struct Suggested {
    std::string name;
    std::string yaml;
    std::string set_aside;  // why it is not in the file ("": it is)
  };
  std::vector<Suggested> suggested;
  for (size_t i = 0; i < searches.size(); ++i) {
    const std::string proven = ProvenExample(searches[i], i + 1, options.config, scratch.path());
    suggested.push_back({RuleName(searches[i].entry->tmpl, i + 1),
                         app::RuleSkeletonYaml(*searches[i].entry, i + 1, proven),
                         proven.empty() ? "no lines of the input were found that it classifies "
                                          "on their own; add examples.match"
                                        : ""});
  }
  // User rules go before the defaults: a rule that would take requests another rule names (its
  // examples say so) is set aside, until the file passes `registry-rca check`.
  auto file_text = [&] {
    std::string text = "rules:\n";
    for (const Suggested& rule : suggested) text += rule.set_aside.empty() ? rule.yaml : "";
    return text;
  };
  for (size_t round = 0; round <= suggested.size(); ++round) {
    if (!WriteFile(scratch.path(), file_text())) break;
    auto loaded = LoadWith(options.config, scratch.path());
    if (!loaded.ok()) break;
    const auto failures = CheckRuleExamples(*loaded.value(), options.config);
    bool changed = false;
    for (const ExampleFailure& failure : failures) {
      for (Suggested& rule : suggested) {
        if (rule.set_aside.empty() && rule.name != failure.rule &&
            failure.message.find(rule.name + ":") != std::string::npos) {
          std::string where = failure.location;  // the scratch file is this very file
          if (where.starts_with(scratch.path())) where.replace(0, scratch.path().size(), "here");
          rule.set_aside = "it would take requests that rule " + failure.rule + " names (" + where +
                           "); narrow its match";
          changed = true;
        }
      }
    }
    for (const ExampleFailure& failure : failures) {
      for (Suggested& rule : suggested) {
        if (!changed && rule.set_aside.empty() && rule.name == failure.rule) {
          rule.set_aside = failure.message;
          changed = true;
        }
      }
    }
    if (!changed) break;  // no failures, or only the config's own rules fail
  }
  size_t kept = 0;
  for (const Suggested& rule : suggested) kept += rule.set_aside.empty() ? 1 : 0;
  std::fprintf(out,
               "# registry-rca rules suggest: %zu rule(s) for the most frequent of %zu message "
               "templates\n# of unclassified errors (%llu errors). For each: name the cause, set "
               "severity, summary\n# and runbook, tighten the pattern if it is too wide; save as a "
               "file of the config's\n# rules_files and run `registry-rca check`. Format: "
               "rules/README.md.\n",
               kept, report.templates().size(),
               static_cast<unsigned long long>(report.templates().total()));
  const std::string text = file_text();
  std::fwrite(text.data(), 1, text.size(), out);
  for (const Suggested& rule : suggested) {
    if (rule.set_aside.empty()) continue;
    std::fprintf(err, "registry-rca rules suggest: %s set aside: %s\n", rule.name.c_str(),
                 OneLine(rule.set_aside, 300).c_str());
    std::string commented = "\n# Set aside, " + OneLine(rule.set_aside, 300) + ":\n";
    for (size_t start = 0; start < rule.yaml.size();) {
      const size_t end = rule.yaml.find('\n', start);
      commented += "# " + rule.yaml.substr(start, end - start) + "\n";
      start = end + 1;
    }
    std::fwrite(commented.data(), 1, commented.size(), out);
  }
  std::fflush(out);
  return 0;
}

}  // namespace rrca::app
