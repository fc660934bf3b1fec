#include "exporter/metrics/exposition.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

namespace rrca::metrics {

void AppendEscapedLabelValue(std::string_view value, std::string* out) {
  size_t start = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c != '\\' && c != '"' && c != '\n') continue;
    out->append(value.substr(start, i - start));
    out->push_back('\\');
    out->push_back(c == '\n' ? 'n' : c);
    start = i + 1;
  }
  out->append(value.substr(start));
}

std::string RenderLabelText(std::vector<std::pair<std::string_view, std::string_view>> labels) {
  std::sort(labels.begin(), labels.end());
  std::string text;
  for (const auto& [name, value] : labels) {
    if (!text.empty()) text.push_back(',');
    text.append(name);
    text.append("=\"");
    AppendEscapedLabelValue(value, &text);
    text.push_back('"');
  }
  return text;
}

void AppendSampleValue(double value, std::string* out) {
  if (std::isnan(value)) {
    out->append("Nan");
    return;
  }
  if (std::isinf(value)) {
    out->append(value < 0 ? "-Inf" : "+Inf");
    return;
  }
  char buffer[40];
  char* end;
  // Counts are integers: the integer path is several times faster than the general one, and
  // %.16g prints every integer below 1e16 as its digits (-0 is left to the general path).
  if (value == std::trunc(value) && std::fabs(value) < 1e15 &&
      !(value == 0 && std::signbit(value))) {
    end = std::to_chars(buffer, buffer + sizeof(buffer), static_cast<int64_t>(value)).ptr;
  } else {
    end = std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::general, 16).ptr;
  }
  out->append(buffer, end);
}

void AppendCount(uint64_t value, std::string* out) {
  char buffer[24];
  out->append(buffer, std::to_chars(buffer, buffer + sizeof(buffer), value).ptr);
}

std::vector<prometheus::ClientMetric::Label> ParseLabelText(std::string_view text) {
  std::vector<prometheus::ClientMetric::Label> labels;
  size_t i = 0;
  while (i < text.size()) {
    prometheus::ClientMetric::Label label;
    const size_t equals = text.find('=', i);
    if (equals == std::string_view::npos || equals + 1 >= text.size()) break;
    label.name = std::string(text.substr(i, equals - i));
    i = equals + 2;  // past `="`
    while (i < text.size() && text[i] != '"') {
      if (text[i] == '\\' && i + 1 < text.size()) {
        ++i;
        label.value.push_back(text[i] == 'n' ? '\n' : text[i]);
      } else {
        label.value.push_back(text[i]);
      }
      ++i;
    }
    i += 2;  // past `",`
    labels.push_back(std::move(label));
  }
  return labels;
}

namespace {

constexpr size_t kBlockBytes = 64 * 1024;

const char* KindName(ExpositionStore::Kind kind) {
  switch (kind) {
    case ExpositionStore::Kind::kCounter:
      return "counter";
    case ExpositionStore::Kind::kGauge:
      return "gauge";
    case ExpositionStore::Kind::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// `name<suffix>{labels[,le="..."]} `, as prometheus-cpp's WriteHead.
void AppendHead(std::string_view name, std::string_view suffix, std::string_view labels,
                std::string_view le, std::string* out) {
  out->append(name);
  out->append(suffix);
  if (!labels.empty() || !le.empty()) {
    out->push_back('{');
    out->append(labels);
    if (!le.empty()) {
      if (!labels.empty()) out->push_back(',');
      out->append("le=\"");
      out->append(le);
      out->push_back('"');
    }
    out->push_back('}');
  }
  out->push_back(' ');
}

void RenderHistogram(const ExpositionStore::FamilyInfo& info, std::string_view labels,
                     const double* values, std::string* out) {
  const size_t buckets = info.bounds.size() + 1;
  uint64_t count = 0;
  for (size_t b = 0; b < buckets; ++b) count += static_cast<uint64_t>(values[b]);
  AppendHead(info.name, "_count", labels, "", out);
  AppendCount(count, out);
  out->push_back('\n');
  AppendHead(info.name, "_sum", labels, "", out);
  AppendSampleValue(values[buckets], out);
  out->push_back('\n');
  uint64_t cumulative = 0;
  for (size_t b = 0; b < buckets; ++b) {
    cumulative += static_cast<uint64_t>(values[b]);
    AppendHead(info.name, "_bucket", labels, b < info.le_text.size() ? info.le_text[b] : "+Inf",
               out);
    AppendCount(cumulative, out);
    out->push_back('\n');
  }
}

}  // namespace

ExpositionStore::ExpositionStore() = default;
ExpositionStore::~ExpositionStore() = default;

ExpositionStore::FamilyId ExpositionStore::AddFamily(std::string name, std::string help, Kind kind,
                                                     std::vector<double> bounds) {
  auto info = std::make_unique<FamilyInfo>();
  info->name = std::move(name);
  info->help = std::move(help);
  info->kind = kind;
  if (kind == Kind::kHistogram) {
    info->bounds = std::move(bounds);
    for (double bound : info->bounds) {
      info->le_text.emplace_back();
      AppendSampleValue(bound, &info->le_text.back());
    }
    info->stride = static_cast<uint32_t>(info->bounds.size() + 2);
  }
  families_.push_back(FamilyData{std::move(info), {}, {}, {}});
  return static_cast<FamilyId>(families_.size() - 1);
}

ExpositionStore::LabelView ExpositionStore::Keep(std::string_view text) {
  // An empty text before the first block: memcpy must not get a null pointer, even for 0 bytes.
  if (text.empty()) return LabelView{block_next_, 0};
  if (text.size() > block_left_) {
    const size_t size = std::max(kBlockBytes, text.size());
    blocks_.push_back(std::make_unique<char[]>(size));
    block_next_ = blocks_.back().get();
    block_left_ = size;
  }
  std::memcpy(block_next_, text.data(), text.size());
  const LabelView view{block_next_, static_cast<uint32_t>(text.size())};
  block_next_ += text.size();
  block_left_ -= text.size();
  return view;
}

ExpositionStore::Series ExpositionStore::AddSeries(FamilyId family, Labels labels) {
  FamilyData& data = families_[family];
  const std::string text = RenderLabelText(std::move(labels));
  if (auto found = data.index.find(text); found != data.index.end()) {
    return {family, found->second};
  }
  const LabelView kept = Keep(text);
  const auto slot = static_cast<uint32_t>(data.values.size());
  data.labels.push_back(kept);
  data.values.resize(data.values.size() + data.info->stride, 0.0);
  data.index.emplace(kept.text(), slot);
  return {family, slot};
}

void ExpositionStore::Observe(Series series, double value) {
  FamilyData& data = families_[series.family];
  const std::vector<double>& bounds = data.info->bounds;
  // The first bound >= value, as prometheus-cpp finds it (NaN lands in +Inf).
  const size_t bucket =
      std::find_if(bounds.begin(), bounds.end(), [value](double b) { return b >= value; }) -
      bounds.begin();
  double* values = &data.values[series.slot];
  values[bucket] += 1;
  values[bounds.size() + 1] += value;
}

double ExpositionStore::Value(Series series) const {
  const FamilyData& data = families_[series.family];
  if (data.info->kind != Kind::kHistogram) return data.values[series.slot];
  double count = 0;
  for (size_t b = 0; b <= data.info->bounds.size(); ++b) count += data.values[series.slot + b];
  return count;
}

size_t ExpositionStore::series_count() const {
  size_t count = 0;
  for (const FamilyData& data : families_) count += data.labels.size();
  return count;
}

void ExpositionStore::TakeSnapshot(Snapshot* snapshot) const {
  snapshot->families.clear();
  snapshot->labels.clear();
  snapshot->values.clear();
  size_t labels = 0, values = 0;
  for (const FamilyData& data : families_) {
    labels += data.labels.size();
    values += data.values.size();
  }
  snapshot->labels.reserve(labels);
  snapshot->values.reserve(values);
  for (const FamilyData& data : families_) {
    snapshot->families.push_back({data.info.get(), static_cast<uint32_t>(data.labels.size()),
                                  snapshot->labels.size(), snapshot->values.size()});
    snapshot->labels.insert(snapshot->labels.end(), data.labels.begin(), data.labels.end());
    snapshot->values.insert(snapshot->values.end(), data.values.begin(), data.values.end());
  }
}

void ExpositionStore::Render(const Snapshot& snapshot, std::string* out) {
  size_t estimate = 0;
  for (const Snapshot::Family& family : snapshot.families) {
    const size_t lines = family.info->kind == Kind::kHistogram ? family.info->stride + 1 : 1;
    estimate += family.series * lines * (family.info->name.size() + 32);
  }
  for (const LabelView& label : snapshot.labels) estimate += label.size;
  out->reserve(out->size() + estimate);
  for (const Snapshot::Family& family : snapshot.families) {
    if (family.series == 0) continue;  // prometheus-cpp writes no HELP/TYPE for an empty family
    const FamilyInfo& info = *family.info;
    if (!info.help.empty()) {
      out->append("# HELP ").append(info.name).append(" ").append(info.help).push_back('\n');
    }
    out->append("# TYPE ").append(info.name).append(" ").append(KindName(info.kind));
    out->push_back('\n');
    for (uint32_t s = 0; s < family.series; ++s) {
      const std::string_view labels = snapshot.labels[family.labels_at + s].text();
      const double* values = &snapshot.values[family.values_at + size_t{s} * info.stride];
      if (info.kind == Kind::kHistogram) {
        RenderHistogram(info, labels, values, out);
        continue;
      }
      AppendHead(info.name, "", labels, "", out);
      AppendSampleValue(*values, out);
      out->push_back('\n');
    }
  }
}

std::vector<prometheus::MetricFamily> ExpositionStore::Collect(const Snapshot& snapshot) {
  std::vector<prometheus::MetricFamily> result;
  for (const Snapshot::Family& family : snapshot.families) {
    if (family.series == 0) continue;
    const FamilyInfo& info = *family.info;
    prometheus::MetricFamily& out = result.emplace_back();
    out.name = info.name;
    out.help = info.help;
    out.type = info.kind == Kind::kCounter ? prometheus::MetricType::Counter
               : info.kind == Kind::kGauge ? prometheus::MetricType::Gauge
                                           : prometheus::MetricType::Histogram;
    for (uint32_t s = 0; s < family.series; ++s) {
      prometheus::ClientMetric& metric = out.metric.emplace_back();
      metric.label = ParseLabelText(snapshot.labels[family.labels_at + s].text());
      const double* values = &snapshot.values[family.values_at + size_t{s} * info.stride];
      if (info.kind == Kind::kCounter) metric.counter.value = values[0];
      if (info.kind == Kind::kGauge) metric.gauge.value = values[0];
      if (info.kind != Kind::kHistogram) continue;
      uint64_t cumulative = 0;
      for (size_t b = 0; b <= info.bounds.size(); ++b) {
        cumulative += static_cast<uint64_t>(values[b]);
        metric.histogram.bucket.push_back(
            {cumulative,
             b < info.bounds.size() ? info.bounds[b] : std::numeric_limits<double>::infinity()});
      }
      metric.histogram.sample_count = cumulative;
      metric.histogram.sample_sum = values[info.bounds.size() + 1];
    }
  }
  return result;
}

namespace {

prometheus::Labels LabelMap(std::string_view text) {
  prometheus::Labels labels;
  for (auto& label : ParseLabelText(text)) labels.emplace(label.name, label.value);
  return labels;
}

// The histogram's buckets as increments on top of what `histogram` already holds.
void CopyHistogram(const ExpositionStore::FamilyInfo& info, const double* values,
                   prometheus::Histogram& histogram) {
  const prometheus::ClientMetric now = histogram.Collect();
  std::vector<double> increments(info.bounds.size() + 1);
  uint64_t before = 0;
  for (size_t b = 0; b < increments.size(); ++b) {
    const uint64_t held = now.histogram.bucket[b].cumulative_count - before;
    before = now.histogram.bucket[b].cumulative_count;
    increments[b] = values[b] - static_cast<double>(held);
  }
  histogram.ObserveMultiple(increments, values[increments.size()] - now.histogram.sample_sum);
}

}  // namespace

void ExpositionStore::CopyInto(prometheus::Registry& registry) const {
  Snapshot snapshot;
  TakeSnapshot(&snapshot);
  for (const Snapshot::Family& family : snapshot.families) {
    if (family.series == 0) continue;
    const FamilyInfo& info = *family.info;
    auto values_of = [&](uint32_t s) {
      return &snapshot.values[family.values_at + size_t{s} * info.stride];
    };
    auto labels_of = [&](uint32_t s) {
      return LabelMap(snapshot.labels[family.labels_at + s].text());
    };
    if (info.kind == Kind::kCounter) {
      auto& target = prometheus::BuildCounter().Name(info.name).Help(info.help).Register(registry);
      for (uint32_t s = 0; s < family.series; ++s) {
        prometheus::Counter& counter = target.Add(labels_of(s));
        counter.Increment(*values_of(s) - counter.Value());
      }
    } else if (info.kind == Kind::kGauge) {
      auto& target = prometheus::BuildGauge().Name(info.name).Help(info.help).Register(registry);
      for (uint32_t s = 0; s < family.series; ++s) target.Add(labels_of(s)).Set(*values_of(s));
    } else {
      auto& target =
          prometheus::BuildHistogram().Name(info.name).Help(info.help).Register(registry);
      for (uint32_t s = 0; s < family.series; ++s) {
        CopyHistogram(info, values_of(s), target.Add(labels_of(s), info.bounds));
      }
    }
  }
}

}  // namespace rrca::metrics
