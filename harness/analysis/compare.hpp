// `cmbench compare BASE.csv NEW.csv`: is NEW worse than BASE beyond noise?
// Points match by model, workload, connections and rate; repetitions are
// the samples. One rule decides (docs/ci.md): a metric is worse (or better)
// when its median moved by more than the threshold AND, with repetitions on
// both sides, the bootstrap interval of the change lies wholly on that side
// of 0. A point BASE measured that NEW lacks or failed is a regression too.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness/base/stats.hpp"
#include "harness/results/point.hpp"

namespace cmb::harness {

struct CompareOptions {
  double threshold = 0.10;  // relative change in rps that matters
  // p99 moves far more between identical runs than throughput does (docs/ci.md).
  double p99_threshold = 0.50;
  double alpha = 0.05;  // the verdict's interval covers 1 - alpha
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
  // Points of BASE that NEW lacks are listed but not a regression (removed
  // on purpose). A point that failed in NEW still is.
  bool allow_missing = false;
};

// A point that is in one file and not measured in the other.
struct PointChange {
  enum class Kind {
    kMissing,       // BASE measured it; NEW has no row for it
    kFailed,        // BASE measured it; NEW has an error row for it
    kStillFailing,  // an error row on both sides: nothing to compare, and not news
    kNew,           // NEW measured it; BASE did not
  };
  PointKey point;
  Kind kind;
  std::string reason;    // the error row's text (failed, still failing)
  bool allowed = false;  // missing under --allow-missing

  bool regressed() const { return (kind == Kind::kMissing && !allowed) || kind == Kind::kFailed; }
  static std::string name(Kind kind);  // "missing", "failed", "still failing", "new"
  std::string kind_name() const { return name(kind); }
};

struct MetricComparison {
  PointKey point;
  std::string metric;  // Metric::report_name(): "rps", "p99_us", "cpu_us", "syscalls", ...
  std::vector<double> base;
  std::vector<double> fresh;
  double base_median = 0;
  double new_median = 0;
  double change = 0;  // (new - base) / base
  // The (1 - alpha) bootstrap interval of `change` (stats.hpp's
  // change_interval); none without repetitions on both sides.
  std::optional<Interval> change_interval;
  std::string verdict;  // same, better, worse
};

struct Comparison {
  std::vector<MetricComparison> metrics;
  std::vector<PointChange> points;  // missing, failed, still failing, new
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

// Prints the table; exit 0 (no regression), 1 (a point worse, missing or
// failed), 2 (unusable).
int compare_command(const std::string& base_csv, const std::string& new_csv,
                    const CompareOptions& options);

}  // namespace cmb::harness
