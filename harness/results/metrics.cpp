#include "harness/results/metrics.hpp"

#include "harness/results/cpu_kinds.hpp"
#include "harness/results/schema.hpp"

namespace cmb::harness {
namespace {

// Where the time goes inside the server: each stage's mean over the
// answered requests, and what the four leave of the client's mean.
void add_stages(std::vector<Metric>& all) {
  for (const std::string_view stage : servers::kStageNames)
    all.push_back({std::string(stage),
                   {stage_column(stage, "mean")},
                   "us",
                   Scale::kMicros,
                   Better::kNeither,
                   0});
  all.push_back(
      {"unaccounted", {"unaccounted_mean_us"}, "us", Scale::kMicros, Better::kNeither, 0});
}

// Where the CPU goes by kind (run --profile): cpu_KIND.
void add_cpu_kinds(std::vector<Metric>& all) {
  for (const auto& kind : cpu_kinds())
    all.push_back({"cpu_" + std::string(kind.name),
                   {cpu_kind_column(kind.name)},
                   "us/request",
                   Scale::kMicros,
                   Better::kNeither,
                   2});
}

std::vector<Metric> make_metrics() {
  std::vector<Metric> all = {
      {"rps", {"rps"}, "req/s", Scale::kCount, Better::kHigher, 1},
      {"p50", {"latency_p50_us"}, "us", Scale::kMicros, Better::kLower, 0},
      {"p90", {"latency_p90_us"}, "us", Scale::kMicros, Better::kLower, 0},
      {"p99", {"latency_p99_us"}, "us", Scale::kMicros, Better::kLower, 0, true},
      {"p999", {"latency_p999_us"}, "us", Scale::kMicros, Better::kLower, 0, true},
      {"cpu", {"server_cpu_us_per_request"}, "us/request", Scale::kMicros, Better::kLower, 2},
  };
  add_stages(all);
  const std::vector<Metric> rest = {
      // The requests never answered in the window, and their age averaged
      // over every request sent (the "never answered" part of the mean).
      {"unanswered", {"unanswered"}, "requests", Scale::kCount, Better::kNeither, 0},
      {"unanswered_wait", {"unanswered_wait_us"}, "us", Scale::kMicros, Better::kNeither, 0},
      {"syscalls",
       {"server_syscalls_per_request"},
       "syscalls/request",
       Scale::kCount,
       Better::kLower,
       3},
      {"duration", {"duration_s"}, "s", Scale::kSeconds, Better::kNeither, 3},
      {"threads", {"server_threads_max"}, "threads", Scale::kCount, Better::kNeither, 0},
      {"rss", {"server_rss_max_kb"}, "KiB", Scale::kKib, Better::kNeither, 0},
      {"errors", error_columns(), "errors", Scale::kCount, Better::kNeither, 0},
      // Not a column of its own: the busiest accepting thread's share over
      // the mean (server_accepts_per_thread), 1 when the kernel spread them
      // evenly.
      {"imbalance", {"accept_imbalance"}, "x the mean", Scale::kCount, Better::kNeither, 2},
      // The summary's: the highest rate within the SLO (summary.hpp).
      {"knee", {}, "req/s", Scale::kCount, Better::kNeither, 0},
  };
  all.insert(all.end(), rest.begin(), rest.end());
  add_cpu_kinds(all);
  return all;
}

}  // namespace

const std::vector<Metric>& metrics() {
  static const std::vector<Metric> all = make_metrics();
  return all;
}

const Metric* find_metric(std::string_view name) {
  for (const auto& metric : metrics())
    if (metric.name == name) return &metric;
  return nullptr;
}

std::vector<std::string> judged_metric_names() {
  std::vector<std::string> names;
  for (const auto& metric : metrics())
    if (metric.better != Better::kNeither && !metric.columns.empty())
      names.emplace_back(metric.name);
  return names;
}

std::string Metric::report_name() const {
  return std::string(name) + (scale == Scale::kMicros ? "_us" : "");
}

std::string Metric::display_unit() const {
  const std::string text(unit);
  return text.starts_with("us") ? "µs" + text.substr(2) : text;
}

}  // namespace cmb::harness
