#include "harness/analysis/export.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "harness/base/exit_codes.hpp"
#include "harness/base/files.hpp"
#include "harness/base/stats.hpp"
#include "harness/results/csv.hpp"
#include "harness/results/metrics.hpp"
#include "harness/results/model_spec.hpp"
#include "harness/results/schema.hpp"

namespace cmb::harness {
namespace {

using Json = nlohmann::ordered_json;

// The Bencher measure of a metric: Bencher's built-in `throughput` for
// requests/s (operations per second); the others name their unit as BMF
// has no unit field, from their column ("latency-p99-us").
std::string bencher_measure(const Metric& metric) {
  if (metric.name == "rps") return "throughput";
  std::string slug = metric.columns.front();
  std::replace(slug.begin(), slug.end(), '_', '-');
  return slug;
}

double rounded(double value) { return std::round(value * 100) / 100; }

// How people name a point: "epoll hello c=64", "thread-pool t=8 sleep_us=1000 c=16 R=2000",
// "poll hello c=32 idle=8000".
std::string point_name(const PointKey& key) {
  std::string name = key.model;
  if (key.server_threads > 0 && !parse_model_spec(key.model).threads)
    name += fmt::format(" t={}", key.server_threads);
  name += fmt::format(" {} c={}", key.workload.empty() ? "hello" : key.workload, key.connections);
  if (key.rate > 0) name += fmt::format(" R={:g}", key.rate);
  if (key.idle_connections > 0) name += fmt::format(" idle={}", key.idle_connections);
  return name;
}

struct Figures {
  double median, min, max;
  size_t samples;
};

Figures figures(const std::vector<double>& samples) {
  return {median(samples), *std::min_element(samples.begin(), samples.end()),
          *std::max_element(samples.begin(), samples.end()), samples.size()};
}

}  // namespace

std::vector<std::string> export_metric_names() { return judged_metric_names(); }

namespace {

// The metrics asked for, each one export can judge; UsageError otherwise.
std::vector<const Metric*> exported_metrics(const std::vector<std::string>& names) {
  std::vector<const Metric*> metrics;
  for (const auto& name : names) {
    const Metric* metric = find_metric(name);
    if (metric != nullptr && metric->better == Better::kNeither) metric = nullptr;
    if (metric == nullptr)
      throw UsageError(fmt::format("unknown metric '{}' (known: {})", name,
                                   fmt::join(export_metric_names(), ", ")));
    metrics.push_back(metric);
  }
  return metrics;
}

// Point -> metric -> its repetitions, and the points in the CSV's order.
struct ExportedPoints {
  std::vector<PointKey> order;
  std::map<PointKey, std::map<const Metric*, std::vector<double>>> samples;
};

// The CSV's measured points; each error row is named on stderr, not
// exported. UsageError for a CSV that cannot be read as results.
ExportedPoints read_points(const std::string& csv, const std::vector<const Metric*>& metrics) {
  ExportedPoints points;
  try {
    const CsvTable table = read_csv_table(csv);
    const PointReader identity(table);
    std::vector<int> columns;
    for (const Metric* metric : metrics) {
      const std::string& column = metric->columns.front();
      columns.push_back(table.column(column));
      if (columns.back() < 0) throw std::runtime_error(fmt::format("no '{}' column", column));
    }
    const int error = table.column("error");
    for (const auto& row : table.rows) {
      const PointKey key = identity.read(row).point();
      if (!table.measured(row)) {
        fmt::print(stderr, "cmbench export: left out {} (an error row: {})\n", point_name(key),
                   row[static_cast<size_t>(error)]);
        continue;
      }
      if (!points.samples.contains(key)) points.order.push_back(key);
      for (size_t i = 0; i < metrics.size(); ++i)  // an empty cell was not measured
        if (const std::string& cell = row[static_cast<size_t>(columns[i])]; !cell.empty())
          points.samples[key][metrics[i]].push_back(std::stod(cell));
    }
  } catch (const std::logic_error&) {
    throw UsageError(fmt::format("{}: a figure does not parse", csv));
  } catch (const std::runtime_error& e) {
    throw UsageError(fmt::format("{}: {}", csv, e.what()));
  }
  if (points.order.empty()) throw UsageError(fmt::format("{}: no measured point to export", csv));
  return points;
}

// A metric no point measured (syscalls without `run --syscalls`) is refused,
// not exported as nothing.
void check_measured(const std::string& csv, const std::vector<const Metric*>& metrics,
                    ExportedPoints& points) {
  for (const Metric* metric : metrics)
    if (std::none_of(points.order.begin(), points.order.end(),
                     [&](const PointKey& key) { return !points.samples[key][metric].empty(); }))
      throw std::runtime_error(fmt::format(
          "{}: the run did not measure '{}' ({} is empty in every row{})", csv, metric->name,
          metric->columns.front(), metric->name == "syscalls" ? ": run with --syscalls" : ""));
}

}  // namespace

int export_command(const std::string& csv, const ExportOptions& options) {
  const std::vector<const Metric*> metrics = exported_metrics(options.metrics);
  if (options.format == ExportOptions::Format::kGithubActionBenchmark && options.out.empty())
    throw UsageError("github-action-benchmark needs -o PREFIX (two files)");
  ExportedPoints read = read_points(csv, metrics);
  check_measured(csv, metrics, read);
  const std::vector<PointKey>& order = read.order;
  auto& points = read.samples;

  if (options.format == ExportOptions::Format::kBmf) {
    Json json = Json::object();
    for (const PointKey& key : order) {
      Json benchmark = Json::object();
      for (const Metric* metric : metrics) {
        if (points[key][metric].empty()) continue;
        const Figures f = figures(points[key][metric]);
        Json measure = {{"value", rounded(f.median)}};
        if (f.samples > 1) {
          measure["lower_value"] = rounded(f.min);
          measure["upper_value"] = rounded(f.max);
        }
        benchmark[bencher_measure(*metric)] = measure;
      }
      if (!benchmark.empty()) json[point_name(key)] = benchmark;
    }
    const std::string text = json.dump(2) + "\n";
    if (options.out.empty()) {
      fmt::print("{}", text);
    } else {
      write_file_atomically(options.out, text);
    }
    return kExitOk;
  }

  for (const bool bigger : {true, false}) {
    Json entries = Json::array();
    for (const PointKey& key : order)
      for (const Metric* metric : metrics) {
        if ((metric->better == Better::kHigher) != bigger || points[key][metric].empty()) continue;
        const Figures f = figures(points[key][metric]);
        Json entry = {{"name", fmt::format("{} {}", point_name(key), metric->name)},
                      {"unit", metric->unit},
                      {"value", rounded(f.median)}};
        if (f.samples > 1) {
          entry["range"] =
              fmt::format("± {:g}", rounded(std::max(f.max - f.median, f.median - f.min)));
          entry["extra"] = fmt::format("median of {} repetitions; min {:g}, max {:g}", f.samples,
                                       rounded(f.min), rounded(f.max));
        }
        entries.push_back(entry);
      }
    if (entries.empty()) continue;
    const std::string path = options.out + (bigger ? "-bigger.json" : "-smaller.json");
    write_file_atomically(path, entries.dump(2) + "\n");
    fmt::print("{} ({})\n", path, bigger ? "customBiggerIsBetter" : "customSmallerIsBetter");
  }
  return kExitOk;
}

}  // namespace cmb::harness
