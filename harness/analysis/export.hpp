// `cmbench export RESULTS.csv --format ...`: a results CSV as the JSON that
// CI dashboards ingest. Each point (model, threads, workload, connections,
// rate) becomes one benchmark; its repetitions become the value (median)
// and the range or bounds (min and max).
//   github-action-benchmark: its "custom" tools, an array of
//     {name, unit, value, range?, extra?} per direction -- throughput in
//     one file (customBiggerIsBetter), latency and CPU in another
//     (customSmallerIsBetter).
//   bmf (Bencher Metric Format): {benchmark: {measure: {value,
//     lower_value?, upper_value?}}}, every metric in one file.
#pragma once

#include <string>
#include <vector>

namespace cmb::harness {

struct ExportOptions {
  enum class Format { kGithubActionBenchmark, kBmf } format = Format::kBmf;
  std::vector<std::string> metrics = {"rps", "p99"};  // names from export_metric_names()
  // bmf: the file (empty: stdout). github-action-benchmark: a path prefix;
  // the files are PREFIX-bigger.json and PREFIX-smaller.json.
  std::string out;
};

// rps, p50, p90, p99, p999, cpu (server CPU µs per request), syscalls (per
// request, from `run --syscalls`; points without the figure leave it out).
std::vector<std::string> export_metric_names();

// The exit code; throws UsageError when the CSV is unusable or a metric
// unknown (exit 2).
int export_command(const std::string& csv, const ExportOptions& options);

}  // namespace cmb::harness
