// Every figure a run is judged by, in one table: its name (what --metrics,
// --metric and a claim say), its CSV columns, its unit, which way is
// better and how it is printed. compare, export and the claims all read
// it. Plain data.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cmb::harness {

enum class Better { kHigher, kLower, kNeither };

// What a claim's value with a unit ("25ms", "64MiB") is converted to.
enum class Scale { kCount, kMicros, kSeconds, kKib };

struct Metric {
  std::string name;                  // "p99"
  std::vector<std::string> columns;  // summed where several (errors); empty: not a column (knee)
  std::string_view unit;             // ASCII, as exports carry it: "us", "req/s", "KiB"
  Scale scale;
  // kNeither: a figure that describes a run, not one compare or export
  // judges (threads, memory, errors, ...).
  Better better;
  int decimals;  // how compare prints it
  // Moves far more between identical runs than throughput (tail latency;
  // docs/ci.md): compare judges it with --p99-threshold, not --threshold.
  bool noisy = false;

  // What compare's reports call it: the name, with "_us" for microseconds
  // ("p99_us", "cpu_us").
  std::string report_name() const;
  // The unit for people: "µs" for "us".
  std::string display_unit() const;
};

const std::vector<Metric>& metrics();

// nullptr when there is no such metric.
const Metric* find_metric(std::string_view name);

// The names of the metrics compare and export can judge (those with a
// column and a direction), in table order.
std::vector<std::string> judged_metric_names();

}  // namespace cmb::harness
