#include "exporter/app/example_check.h"

#include <re2/re2.h>

#include <memory>

#include "exporter/app/rules_loader.h"
#include "exporter/pipeline/pipeline.h"

namespace rrca::app {
namespace {

// Records which rule judged each error request of one example.
class VerdictCollector : public pipeline::ClassifiedObserver {
 public:
  void OnClassified(const pipeline::Classified& classified) override {
    if (!classified.request.IsError()) return;
    const rules::Rule* rule = classified.verdict.rule;
    verdicts.push_back((rule != nullptr ? rule->name : std::string("-")) + ":" +
                       std::string(classified.cause));
    rule_names.push_back(rule != nullptr ? rule->name : "");
  }
  std::vector<std::string> verdicts;
  std::vector<std::string> rule_names;
};

// A rule that judges a hop's responses (`hop: proxy` / `hop: core`) has that hop's lines as
// examples: they are read as a harbor_proxy / harbor_core source.
pipeline::Pipeline::StreamKind ExampleStreamKind(const rules::Rule* rule) {
  if (rule == nullptr) return pipeline::Pipeline::StreamKind::kRegistry;
  for (const rules::FieldPattern& pattern : rule->match) {
    if (pattern.field != rules::RequestField::kHop || pattern.pattern == nullptr) continue;
    const std::string& text = pattern.pattern->pattern();
    if (text.find("proxy") != std::string::npos) return pipeline::Pipeline::StreamKind::kProxy;
    if (text.find("core") != std::string::npos) return pipeline::Pipeline::StreamKind::kCore;
  }
  return pipeline::Pipeline::StreamKind::kRegistry;
}

// A line that only Harbor core's parser understands (not an nginx line).
bool IsCoreOnlyLine(std::string_view line, std::string* scratch) {
  const tailers::Unwrapped unwrapped =
      tailers::Unwrap(line, tailers::EnvelopeHint::kAuto, 2026, scratch);
  HopEvent event;
  return tailers::ParseHopPayload(Hop::kProxy, unwrapped.payload, &event) !=
             tailers::HopParse::kOk &&
         tailers::ParseHopPayload(Hop::kCore, unwrapped.payload, &event) == tailers::HopParse::kOk;
}

VerdictCollector RunExample(const std::string& lines, const rules::RuleSet& rules,
                            const Config& config, const rules::Rule* rule = nullptr) {
  // A non-owning pointer: the RuleSet outlives this pipeline.
  std::shared_ptr<const rules::RuleSet> shared(&rules, [](const rules::RuleSet*) {});
  pipeline::Pipeline pipeline(PipelineOptionsFrom(config, 2026), shared, nullptr);
  VerdictCollector collector;
  pipeline.AddObserver(&collector);
  const pipeline::Pipeline::StreamKind kind = ExampleStreamKind(rule);
  const pipeline::Pipeline::StreamId stream =
      pipeline.OpenStream("example", tailers::EnvelopeHint::kAuto, kind);
  // A proxy rule's example may show Harbor core's line of the same request: its own stream.
  const pipeline::Pipeline::StreamId core_stream =
      kind == pipeline::Pipeline::StreamKind::kProxy
          ? pipeline.OpenStream("example-core", tailers::EnvelopeHint::kAuto,
                                pipeline::Pipeline::StreamKind::kCore)
          : stream;
  std::string scratch;
  size_t start = 0;
  while (start < lines.size()) {
    size_t end = lines.find('\n', start);
    if (end == std::string::npos) end = lines.size();
    const std::string_view line = std::string_view(lines).substr(start, end - start);
    pipeline.OnLine(kind == pipeline::Pipeline::StreamKind::kProxy && IsCoreOnlyLine(line, &scratch)
                        ? core_stream
                        : stream,
                    line);
    start = end + 1;
  }
  pipeline.Finish();
  return collector;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out.empty() ? "(none)" : out;
}

}  // namespace

std::vector<std::string> ClassifyExample(const std::string& lines, const rules::RuleSet& rules,
                                         const Config& config, const rules::Rule* rule) {
  return RunExample(lines, rules, config, rule).verdicts;
}

std::vector<ExampleFailure> CheckRuleExamples(const rules::RuleSet& rules, const Config& config) {
  std::vector<ExampleFailure> failures;
  for (const rules::Rule& rule : rules.rules()) {
    for (const rules::RuleExample& example : rule.examples) {
      const VerdictCollector result = RunExample(example.lines, rules, config, &rule);
      if (example.should_match) {
        bool all_this_rule = !result.rule_names.empty();
        for (const std::string& name : result.rule_names) all_this_rule &= name == rule.name;
        if (!all_this_rule) {
          failures.push_back({rule.name, example.location,
                              "match example: expected every error to be classified by " +
                                  rule.name + " (" + rule.cause + "), got " +
                                  Join(result.verdicts)});
        }
      } else {
        for (const std::string& name : result.rule_names) {
          if (name == rule.name) {
            failures.push_back(
                {rule.name, example.location,
                 "no_match example was classified by " + rule.name + ": " + Join(result.verdicts)});
            break;
          }
        }
      }
    }
  }
  return failures;
}

}  // namespace rrca::app
