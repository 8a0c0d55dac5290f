#include "server/metrics.hpp"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>

namespace reelflow::server {

namespace {

enum Kind { kCounter = 0, kGauge = 1, kHistogram = 2 };

struct HistogramSeries {
  std::vector<std::uint64_t> bucket_counts;  // per bound, not cumulative; +Inf is `count`
  double sum = 0;
  std::uint64_t count = 0;
};

[[maybe_unused]] bool valid_name(const std::string& name, bool allow_colon) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

}  // namespace

struct MetricsRegistry::Family {
  std::string name;
  std::string help;
  Kind kind = kCounter;
  std::vector<std::string> label_names;
  std::vector<double> bounds;
  std::map<LabelValues, double> values;           // counters and gauges
  std::map<LabelValues, HistogramSeries> series;  // histograms

  bool labels_fit(const LabelValues& labels) const {
    assert(labels.size() == label_names.size() && "wrong number of label values");
    return labels.size() == label_names.size();
  }
};

std::string escape_label_value(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string escape_help(const std::string& help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_sample_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  if (ec != std::errc{}) return "NaN";
  return std::string(buffer, end);
}

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Family& MetricsRegistry::family(std::size_t index) const {
  return *families_[index];
}

std::size_t MetricsRegistry::add_family(const std::string& name, const std::string& help, int kind,
                                        std::vector<std::string> label_names,
                                        std::vector<double> bounds) {
  assert(valid_name(name, true) && "invalid metric name");
  for (const auto& label : label_names) {
    assert(valid_name(label, false) && label != "le" && "invalid label name");
    (void)label;
  }
  for (std::size_t i = 0; i < families_.size(); ++i) {
    if (families_[i]->name == name) return i;
  }
  auto entry = std::make_unique<Family>();
  entry->name = name;
  entry->help = help;
  entry->kind = static_cast<Kind>(kind);
  entry->label_names = std::move(label_names);
  entry->bounds = std::move(bounds);
  if (entry->kind != kHistogram && entry->label_names.empty()) entry->values[{}] = 0;
  families_.push_back(std::move(entry));
  return families_.size() - 1;
}

CounterFamily& MetricsRegistry::counter(const std::string& name, const std::string& help,
                                        std::vector<std::string> label_names) {
  std::lock_guard lock(mutex_);
  std::size_t index = add_family(name, help, kCounter, std::move(label_names), {});
  for (auto& existing : counters_) {
    if (existing->index_ == index) return *existing;
  }
  counters_.push_back(std::unique_ptr<CounterFamily>(new CounterFamily(*this, index)));
  return *counters_.back();
}

GaugeFamily& MetricsRegistry::gauge(const std::string& name, const std::string& help,
                                    std::vector<std::string> label_names) {
  std::lock_guard lock(mutex_);
  std::size_t index = add_family(name, help, kGauge, std::move(label_names), {});
  for (auto& existing : gauges_) {
    if (existing->index_ == index) return *existing;
  }
  gauges_.push_back(std::unique_ptr<GaugeFamily>(new GaugeFamily(*this, index)));
  return *gauges_.back();
}

HistogramFamily& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                            std::vector<std::string> label_names,
                                            std::vector<double> bounds) {
  std::lock_guard lock(mutex_);
  assert(std::is_sorted(bounds.begin(), bounds.end()) && "histogram bounds must ascend");
  if (!bounds.empty() && std::isinf(bounds.back())) bounds.pop_back();  // +Inf is implicit
  std::size_t index = add_family(name, help, kHistogram, std::move(label_names), std::move(bounds));
  for (auto& existing : histograms_) {
    if (existing->index_ == index) return *existing;
  }
  histograms_.push_back(std::unique_ptr<HistogramFamily>(new HistogramFamily(*this, index)));
  return *histograms_.back();
}

void CounterFamily::inc(const LabelValues& labels, double by) {
  std::lock_guard lock(registry_.mutex_);
  auto& entry = registry_.family(index_);
  if (!entry.labels_fit(labels) || !(by >= 0)) return;  // counters never go down
  entry.values[labels] += by;
}

double CounterFamily::value(const LabelValues& labels) const {
  std::lock_guard lock(registry_.mutex_);
  auto& entry = registry_.family(index_);
  auto found = entry.values.find(labels);
  return found == entry.values.end() ? 0 : found->second;
}

void GaugeFamily::set(const LabelValues& labels, double value) {
  std::lock_guard lock(registry_.mutex_);
  auto& entry = registry_.family(index_);
  if (entry.labels_fit(labels)) entry.values[labels] = value;
}

void GaugeFamily::add(const LabelValues& labels, double delta) {
  std::lock_guard lock(registry_.mutex_);
  auto& entry = registry_.family(index_);
  if (entry.labels_fit(labels)) entry.values[labels] += delta;
}

void GaugeFamily::clear() {
  std::lock_guard lock(registry_.mutex_);
  auto& entry = registry_.family(index_);
  entry.values.clear();
  if (entry.label_names.empty()) entry.values[{}] = 0;
}

double GaugeFamily::value(const LabelValues& labels) const {
  std::lock_guard lock(registry_.mutex_);
  auto& entry = registry_.family(index_);
  auto found = entry.values.find(labels);
  return found == entry.values.end() ? 0 : found->second;
}

void HistogramFamily::observe(const LabelValues& labels, double value) {
  std::lock_guard lock(registry_.mutex_);
  auto& entry = registry_.family(index_);
  if (!entry.labels_fit(labels) || std::isnan(value)) return;
  auto& series = entry.series[labels];
  series.bucket_counts.resize(entry.bounds.size());
  for (std::size_t i = 0; i < entry.bounds.size(); ++i) {
    if (value <= entry.bounds[i]) {
      ++series.bucket_counts[i];
      break;
    }
  }
  series.sum += value;
  ++series.count;
}

namespace {

// `{a="x",b="y"}`, with an extra label (histogram `le`) appended when given; "" for no labels.
std::string label_text(const std::vector<std::string>& names, const LabelValues& values,
                       const std::string& extra_name = {}, const std::string& extra_value = {}) {
  std::string text;
  for (std::size_t i = 0; i < names.size(); ++i) {
    text += (text.empty() ? "" : ",") + names[i] + "=\"" + escape_label_value(values[i]) + "\"";
  }
  if (!extra_name.empty()) {
    text += (text.empty() ? "" : ",") + extra_name + "=\"" + extra_value + "\"";
  }
  return text.empty() ? text : "{" + text + "}";
}

}  // namespace

std::string MetricsRegistry::render() const {
  static constexpr const char* kTypeNames[] = {"counter", "gauge", "histogram"};
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& entry : families_) {
    out += "# HELP " + entry->name + " " + escape_help(entry->help) + "\n";
    out += "# TYPE " + entry->name + " " + kTypeNames[entry->kind] + "\n";
    if (entry->kind != kHistogram) {
      for (const auto& [labels, value] : entry->values) {
        out += entry->name + label_text(entry->label_names, labels) + " " +
               format_sample_value(value) + "\n";
      }
      continue;
    }
    for (const auto& [labels, series] : entry->series) {
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < entry->bounds.size(); ++i) {
        cumulative += series.bucket_counts[i];
        out += entry->name + "_bucket" +
               label_text(entry->label_names, labels, "le", format_sample_value(entry->bounds[i])) +
               " " + std::to_string(cumulative) + "\n";
      }
      out += entry->name + "_bucket" + label_text(entry->label_names, labels, "le", "+Inf") + " " +
             std::to_string(series.count) + "\n";
      out += entry->name + "_sum" + label_text(entry->label_names, labels) + " " +
             format_sample_value(series.sum) + "\n";
      out += entry->name + "_count" + label_text(entry->label_names, labels) + " " +
             std::to_string(series.count) + "\n";
    }
  }
  return out;
}

DaemonMetrics DaemonMetrics::register_in(MetricsRegistry& registry) {
  return DaemonMetrics{
      registry.gauge("reelflow_runs", "Runs known to the daemon, by state.", {"state"}),
      registry.histogram("reelflow_step_duration_seconds",
                         "Wall-clock duration of finished steps, by step type.", {"step_type"},
                         kStepDurationBuckets),
      registry.gauge("reelflow_queue_depth", "Steps waiting for a free worker."),
      registry.counter("reelflow_worker_restarts_total",
                       "Worker processes replaced, by plugin of the step they were running.",
                       {"plugin"}),
      registry.counter("reelflow_worker_crashes_total",
                       "Worker processes that crashed (signal, abort, memory limit), by plugin.",
                       {"plugin"}),
  };
}

}  // namespace reelflow::server
