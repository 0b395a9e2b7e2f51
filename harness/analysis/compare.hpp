// `cmbench compare BASE.csv NEW.csv`: is NEW worse than BASE beyond noise?
// Points match by model, workload, connections and rate; repetitions are
// the samples. A point is worse when its median moved the wrong way by more
// than the threshold AND (with repetitions on both sides) Welch's t-test on
// the logarithms finds the difference significant (docs/ci.md
// says why this test).
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness/base/stats.hpp"

namespace cmb::harness {

struct CompareOptions {
  double threshold = 0.10;  // relative change in rps that matters
  // p99 moves far more between identical runs than throughput does (seen here:
  // -12 %, -18 %, -36 % for one point whose rps stayed within 2.5 %).
  double p99_threshold = 0.50;
  double alpha = 0.05;  // significance level
  // Divide every model's figures by this model's, measured in the same run
  // at the same point: ratios travel between machines, absolute numbers do not.
  std::string normalize_by;
  // Judged per point, by name (results/metrics.hpp: judged_metric_names()):
  // rps, the latency percentiles, cpu (the server's CPU µs per request),
  // syscalls (per request, from `run --syscalls`), each only where both
  // sides measured it. cpu and syscalls depend far less on the machine's
  // speed than requests/s. Noisy metrics (p99, p999) are judged with
  // `p99_threshold`, the others with `threshold`.
  std::vector<std::string> metrics = {"rps", "p99"};
  enum class Format { kText, kMarkdown, kJson } format = Format::kText;
};

struct MetricComparison {
  std::string model;
  std::string workload;
  int connections = 0;
  double rate = 0;
  int idle_connections = 0;
  std::string metric;  // Metric::report_name(): "rps", "p99_us", "cpu_us", "syscalls", ...
  std::vector<double> base;
  std::vector<double> fresh;
  double base_median = 0;
  double new_median = 0;
  double change = 0;  // (new - base) / base
  // The 95 % bootstrap interval of `change` (stats.hpp's change_interval);
  // none without repetitions on both sides.
  std::optional<Interval> change_interval;
  double p = 1;         // Welch's t-test on logs, two-sided; 1 without repetitions
  std::string verdict;  // same, better, worse, noise
};

struct Comparison {
  std::vector<MetricComparison> metrics;
  std::vector<std::string> notes;
  bool regressed() const;
};

// Input that cannot be compared: unreadable, missing columns, nothing in common.
class UnusableInput : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// With `new_csv` empty, `base_csv` holds a same-runner A/B (`cmbench run
// --binary A --binary B`): its first build is the base, its second the new.
Comparison compare_results(const std::string& base_csv, const std::string& new_csv,
                           const CompareOptions& options);

std::string format_comparison(const Comparison& comparison, const CompareOptions& options);

// Prints the table; exit 0 (no regression), 1 (worse beyond noise), 2 (unusable).
int compare_command(const std::string& base_csv, const std::string& new_csv,
                    const CompareOptions& options);

}  // namespace cmb::harness
