// A small metrics registry rendered in the Prometheus text exposition format 0.0.4: counters,
// gauges and histograms, each a family with a fixed list of label names and one series per
// combination of label values. The daemon registers its families at start-up, updates them as
// things happen and serves render() at GET /metrics.
//
// Names must match Prometheus' rules ([a-zA-Z_:][a-zA-Z0-9_:]* for metrics, [a-zA-Z_][a-zA-Z0-9_]*
// for labels); label values may be any text and are escaped when rendered. Passing the wrong
// number of label values is a programmer error (asserted; ignored in release builds).
//
// Thread-safety: safe for concurrent access; every family shares the registry's mutex. Family
// references stay valid for the registry's lifetime.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace reelflow::server {

using LabelValues = std::vector<std::string>;

class MetricsRegistry;

class CounterFamily {
 public:
  void inc(const LabelValues& labels = {}, double by = 1.0);  // by >= 0
  double value(const LabelValues& labels = {}) const;

 private:
  friend class MetricsRegistry;
  CounterFamily(MetricsRegistry& registry, std::size_t index)
      : registry_(registry), index_(index) {}
  MetricsRegistry& registry_;
  std::size_t index_;
};

class GaugeFamily {
 public:
  void set(const LabelValues& labels, double value);
  void set(double value) { set({}, value); }
  void add(const LabelValues& labels, double delta);
  // Forgets every series, e.g. before setting the current runs-by-state counts afresh.
  void clear();
  double value(const LabelValues& labels = {}) const;

 private:
  friend class MetricsRegistry;
  GaugeFamily(MetricsRegistry& registry, std::size_t index) : registry_(registry), index_(index) {}
  MetricsRegistry& registry_;
  std::size_t index_;
};

class HistogramFamily {
 public:
  void observe(const LabelValues& labels, double value);

 private:
  friend class MetricsRegistry;
  HistogramFamily(MetricsRegistry& registry, std::size_t index)
      : registry_(registry), index_(index) {}
  MetricsRegistry& registry_;
  std::size_t index_;
};

// Step durations in seconds: from sub-second plugin calls to half-hour renders.
inline const std::vector<double> kStepDurationBuckets = {0.1, 0.5, 1, 5, 15, 60, 300, 1800};

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Registering a name twice returns the existing family (its help and labels stay the first).
  CounterFamily& counter(const std::string& name, const std::string& help,
                         std::vector<std::string> label_names = {});
  GaugeFamily& gauge(const std::string& name, const std::string& help,
                     std::vector<std::string> label_names = {});
  // `bounds`: ascending upper bounds; +Inf is implied.
  HistogramFamily& histogram(const std::string& name, const std::string& help,
                             std::vector<std::string> label_names, std::vector<double> bounds);

  // The exposition text (Content-Type: text/plain; version=0.0.4), families in registration
  // order, series sorted by label values. A family without labels always shows its value (0 at
  // first); a labelled family with no series shows only its HELP and TYPE lines.
  std::string render() const;

  struct Family;

 private:
  friend class CounterFamily;
  friend class GaugeFamily;
  friend class HistogramFamily;
  Family& family(std::size_t index) const;
  std::size_t add_family(const std::string& name, const std::string& help, int kind,
                         std::vector<std::string> label_names, std::vector<double> bounds);

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Family>> families_;
  std::vector<std::unique_ptr<CounterFamily>> counters_;
  std::vector<std::unique_ptr<GaugeFamily>> gauges_;
  std::vector<std::unique_ptr<HistogramFamily>> histograms_;
};

// The daemon's metric families, registered in one place so names and labels stay consistent.
struct DaemonMetrics {
  GaugeFamily& runs;               // reelflow_runs{state}
  HistogramFamily& step_duration;  // reelflow_step_duration_seconds{step_type}
  GaugeFamily& queue_depth;        // reelflow_queue_depth
  CounterFamily& worker_restarts;  // reelflow_worker_restarts_total{plugin}
  CounterFamily& worker_crashes;   // reelflow_worker_crashes_total{plugin}

  static DaemonMetrics register_in(MetricsRegistry& registry);
};

// Text escaping of the exposition format, exposed for tests.
std::string escape_label_value(const std::string& value);  // backslash, double quote, newline
std::string escape_help(const std::string& help);          // backslash, newline
std::string format_sample_value(double value);             // shortest exact; +Inf, -Inf, NaN

}  // namespace reelflow::server
