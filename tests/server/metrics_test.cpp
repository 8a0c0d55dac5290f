// The metrics registry's Prometheus text: HELP/TYPE lines, escaping, cumulative histogram buckets.
#include "server/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>

namespace reelflow::server {
namespace {

TEST(Metrics, CountersAndGaugesRenderWithHelpAndType) {
  MetricsRegistry registry;
  auto& restarts =
      registry.counter("reelflow_worker_restarts_total", "Workers replaced.", {"plugin"});
  auto& depth = registry.gauge("reelflow_queue_depth", "Steps waiting.");
  restarts.inc({"video.render"});
  restarts.inc({"video.render"}, 2);
  restarts.inc({"hello"});
  depth.set(7);
  EXPECT_EQ(registry.render(),
            "# HELP reelflow_worker_restarts_total Workers replaced.\n"
            "# TYPE reelflow_worker_restarts_total counter\n"
            "reelflow_worker_restarts_total{plugin=\"hello\"} 1\n"
            "reelflow_worker_restarts_total{plugin=\"video.render\"} 3\n"
            "# HELP reelflow_queue_depth Steps waiting.\n"
            "# TYPE reelflow_queue_depth gauge\n"
            "reelflow_queue_depth 7\n");
  EXPECT_EQ(restarts.value({"video.render"}), 3);
}

TEST(Metrics, UnlabelledFamiliesStartAtZeroLabelledOnesEmpty) {
  MetricsRegistry registry;
  registry.gauge("depth", "d");
  registry.counter("crashes_total", "c", {"plugin"});
  std::string text = registry.render();
  EXPECT_NE(text.find("\ndepth 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE crashes_total counter\n"), std::string::npos);
  EXPECT_EQ(text.find("crashes_total{"), std::string::npos);
}

TEST(Metrics, CountersNeverGoDown) {
  MetricsRegistry registry;
  auto& counter = registry.counter("c_total", "c");
  counter.inc({}, 5);
  counter.inc({}, -3);
  EXPECT_EQ(counter.value(), 5);
}

TEST(Metrics, LabelValuesAndHelpAreEscaped) {
  MetricsRegistry registry;
  auto& gauge = registry.gauge("g", "line one\nback\\slash \"quoted\"", {"path"});
  gauge.set({"C:\\dir\n\"x\""}, 1.5);
  EXPECT_EQ(registry.render(),
            "# HELP g line one\\nback\\\\slash \"quoted\"\n"
            "# TYPE g gauge\n"
            "g{path=\"C:\\\\dir\\n\\\"x\\\"\"} 1.5\n");
  EXPECT_EQ(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(escape_help("a\\b\"c\nd"), "a\\\\b\"c\\nd");
}

TEST(Metrics, SpecialValues) {
  EXPECT_EQ(format_sample_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_sample_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_sample_value(std::nan("")), "NaN");
  EXPECT_EQ(format_sample_value(0.1), "0.1");
  EXPECT_EQ(format_sample_value(1800), "1800");
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  MetricsRegistry registry;
  auto metrics = DaemonMetrics::register_in(registry);
  for (double seconds : {0.0625, 0.09375, 0.25, 2.0, 2.0, 100.0, 4000.0}) {
    metrics.step_duration.observe({"video.render"}, seconds);
  }
  metrics.step_duration.observe({"hello.stamp"}, 0.5);  // a bound is inclusive
  std::string text = registry.render();
  std::string expected =
      "# HELP reelflow_step_duration_seconds Wall-clock duration of finished steps, by step "
      "type.\n"
      "# TYPE reelflow_step_duration_seconds histogram\n"
      "reelflow_step_duration_seconds_bucket{step_type=\"hello.stamp\",le=\"0.1\"} 0\n"
      "reelflow_step_duration_seconds_bucket{step_type=\"hello.stamp\",le=\"0.5\"} 1\n"
      "reelflow_step_duration_seconds_bucket{step_type=\"hello.stamp\",le=\"1\"} 1\n"
      "reelflow_step_duration_seconds_bucket{step_type=\"hello.stamp\",le=\"5\"} 1\n"
      "reelflow_step_duration_seconds_bucket{step_type=\"hello.stamp\",le=\"15\"} 1\n"
      "reelflow_step_duration_seconds_bucket{step_type=\"hello.stamp\",le=\"60\"} 1\n"
      "reelflow_step_duration_seconds_bucket{step_type=\"hello.stamp\",le=\"300\"} 1\n"
      "reelflow_step_duration_seconds_bucket{step_type=\"hello.stamp\",le=\"1800\"} 1\n"
      "reelflow_step_duration_seconds_bucket{step_type=\"hello.stamp\",le=\"+Inf\"} 1\n"
      "reelflow_step_duration_seconds_sum{step_type=\"hello.stamp\"} 0.5\n"
      "reelflow_step_duration_seconds_count{step_type=\"hello.stamp\"} 1\n"
      "reelflow_step_duration_seconds_bucket{step_type=\"video.render\",le=\"0.1\"} 2\n"
      "reelflow_step_duration_seconds_bucket{step_type=\"video.render\",le=\"0.5\"} 3\n"
      "reelflow_step_duration_seconds_bucket{step_type=\"video.render\",le=\"1\"} 3\n"
      "reelflow_step_duration_seconds_bucket{step_type=\"video.render\",le=\"5\"} 5\n"
      "reelflow_step_duration_seconds_bucket{step_type=\"video.render\",le=\"15\"} 5\n"
      "reelflow_step_duration_seconds_bucket{step_type=\"video.render\",le=\"60\"} 5\n"
      "reelflow_step_duration_seconds_bucket{step_type=\"video.render\",le=\"300\"} 6\n"
      "reelflow_step_duration_seconds_bucket{step_type=\"video.render\",le=\"1800\"} 6\n"
      "reelflow_step_duration_seconds_bucket{step_type=\"video.render\",le=\"+Inf\"} 7\n"
      "reelflow_step_duration_seconds_sum{step_type=\"video.render\"} 4104.40625\n"
      "reelflow_step_duration_seconds_count{step_type=\"video.render\"} 7\n";
  EXPECT_NE(text.find(expected), std::string::npos) << text;
}

TEST(Metrics, DaemonFamiliesHaveTheAgreedNamesAndTypes) {
  MetricsRegistry registry;
  auto metrics = DaemonMetrics::register_in(registry);
  metrics.runs.set({"running"}, 2);
  metrics.runs.set({"failed"}, 1);
  metrics.worker_crashes.inc({"video.render"});
  metrics.queue_depth.set(4);
  std::string text = registry.render();
  for (const char* line :
       {"# TYPE reelflow_runs gauge\n", "reelflow_runs{state=\"failed\"} 1\n",
        "reelflow_runs{state=\"running\"} 2\n", "# TYPE reelflow_step_duration_seconds histogram\n",
        "# TYPE reelflow_queue_depth gauge\n", "reelflow_queue_depth 4\n",
        "# TYPE reelflow_worker_restarts_total counter\n",
        "# TYPE reelflow_worker_crashes_total counter\n",
        "reelflow_worker_crashes_total{plugin=\"video.render\"} 1\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
  }
  // Refreshing the runs-by-state gauge drops states that no longer have runs.
  metrics.runs.clear();
  metrics.runs.set({"succeeded"}, 3);
  text = registry.render();
  EXPECT_EQ(text.find("state=\"running\""), std::string::npos);
  EXPECT_NE(text.find("reelflow_runs{state=\"succeeded\"} 3\n"), std::string::npos);
  // Registering again returns the same family.
  EXPECT_EQ(&registry.gauge("reelflow_runs", "other help", {"state"}), &metrics.runs);
}

TEST(Metrics, ConcurrentUpdatesAreAllCounted) {
  MetricsRegistry registry;
  auto& counter = registry.counter("c_total", "c", {"plugin"});
  auto& histogram = registry.histogram("h_seconds", "h", {}, {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10'000; ++i) {
        counter.inc({"p"});
        histogram.observe({}, 0.5);
        if (i % 1000 == 0) (void)registry.render();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counter.value({"p"}), 40'000);
  EXPECT_NE(registry.render().find("h_seconds_count 40000\n"), std::string::npos);
}

}  // namespace
}  // namespace reelflow::server
