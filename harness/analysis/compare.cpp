#include "harness/analysis/compare.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "harness/base/stats.hpp"
#include "harness/results/csv.hpp"
#include "harness/results/metrics.hpp"
#include "harness/results/model_spec.hpp"
#include "harness/results/schema.hpp"

namespace cmb::harness {
namespace {

// A point's repetitions, per metric (those compare can judge) that the CSV
// holds; a cell left empty (not measured) adds no sample.
using Samples = std::map<const Metric*, std::vector<double>>;

// Columns every results CSV has: the default metrics' and `error`.
std::vector<std::string> required_columns() {
  std::vector<std::string> columns;
  for (const auto& name : CompareOptions{}.metrics)
    columns.push_back(find_metric(name)->columns[0]);
  columns.push_back("error");
  return columns;
}

using Points = std::map<PointKey, Samples>;

// The build label of a model swept with --binary ("epoll@B" -> "B"), or "".
std::string build_of(const std::string& model) { return parse_model_spec(model).build; }

// A results CSV's points. With `build`, only that build's rows (MODEL@build),
// keyed by the bare model so the other build's points match them.
Points read_points(const std::string& path, const std::string& build = "") {
  try {
    const CsvTable table = read_csv_table(path);
    const PointReader identity(table);
    for (const auto& column : required_columns())
      if (table.column(column) < 0) throw std::runtime_error(fmt::format("no '{}' column", column));
    std::vector<std::pair<const Metric*, int>> judged;  // and their columns here
    for (const auto& name : judged_metric_names())
      if (const Metric* metric = find_metric(name); table.column(metric->columns[0]) >= 0)
        judged.emplace_back(metric, table.column(metric->columns[0]));
    Points points;
    for (const auto& row : table.rows) {
      if (!table.measured(row)) continue;  // a failed point has no figures
      PointKey key = identity.read(row).point();
      if (!build.empty()) {
        const ModelSpec spec = parse_model_spec(key.model);
        if (spec.build != build) continue;
        key.model = spec.without_build();
      }
      Samples& samples = points[key];
      for (const auto& [metric, column] : judged)
        if (const std::string& cell = row[static_cast<size_t>(column)]; !cell.empty())
          samples[metric].push_back(std::stod(cell));
    }
    return points;
  } catch (const std::logic_error&) {
    throw UnusableInput(fmt::format("{}: a row has a number that does not parse", path));
  } catch (const std::runtime_error& e) {
    throw UnusableInput(fmt::format("{}: {}", path, e.what()));
  }
}

// The build labels of an A/B CSV, in the order its rows name them.
std::vector<std::string> builds_in(const std::string& path) {
  std::vector<std::string> labels;
  try {
    const CsvTable table = read_csv_table(path);
    const int model = table.column("model");
    if (model < 0) throw std::runtime_error("no 'model' column");
    for (const auto& row : table.rows) {
      const std::string label = build_of(row[static_cast<size_t>(model)]);
      if (!label.empty() && std::find(labels.begin(), labels.end(), label) == labels.end())
        labels.push_back(label);
    }
  } catch (const std::exception& e) {  // a model name that does not parse too
    throw UnusableInput(fmt::format("{}: {}", path, e.what()));
  }
  return labels;
}

// Every sample divided by the reference model's median at the same point;
// the reference model itself leaves the comparison.
Points normalize(const Points& points, const std::string& reference,
                 std::vector<std::string>& notes, const std::string& path) {
  Points out;
  bool any_reference = false;
  for (const auto& [key, samples] : points) {
    if (key.model == reference) {
      any_reference = true;
      continue;
    }
    // The reference at the same workload, connections, rate and idle
    // connections (its own threads).
    const auto ref = std::find_if(points.begin(), points.end(), [&](const auto& entry) {
      const PointKey& k = entry.first;
      return k.model == reference && k.workload == key.workload &&
             k.connections == key.connections && k.rate == key.rate &&
             k.idle_connections == key.idle_connections;
    });
    if (ref == points.end()) {
      notes.push_back(fmt::format("{}: no {} point to normalize {} {} c={} by; left out", path,
                                  reference, key.model, key.workload, key.connections));
      continue;
    }
    Samples& scaled = out[key];
    for (const auto& [metric, values] : samples) {
      const auto by = ref->second.find(metric);
      const double by_median =
          by == ref->second.end() || by->second.empty() ? 0 : median(by->second);
      for (double v : values) scaled[metric].push_back(by_median > 0 ? v / by_median : 0);
    }
  }
  if (!any_reference)
    throw UnusableInput(
        fmt::format("{} has no points of the reference model '{}'", path, reference));
  return out;
}

MetricComparison judge(const PointKey& key, const Metric& metric, const std::vector<double>& base,
                       const std::vector<double>& fresh, const CompareOptions& options) {
  MetricComparison m;
  m.model = key.model;
  m.workload = key.workload;
  m.connections = key.connections;
  m.rate = key.rate;
  m.idle_connections = key.idle_connections;
  m.metric = metric.report_name();
  m.base = base;
  m.fresh = fresh;
  m.base_median = median(base);
  m.new_median = median(fresh);
  m.change = m.base_median != 0 ? (m.new_median - m.base_median) / m.base_median : 0;
  const bool testable = base.size() >= 2 && fresh.size() >= 2;
  m.p = testable ? welch_p(base, fresh) : 1.0;
  if (testable) m.change_interval = cmb::harness::change_interval(base, fresh);
  const bool significant = !testable || m.p < options.alpha;
  const double bad =
      metric.better == Better::kHigher ? -m.change : m.change;  // > 0: moved the wrong way
  // requests/s and CPU per request move little between identical runs; p99 a lot.
  const double threshold = metric.noisy ? options.p99_threshold : options.threshold;
  if (bad > threshold) {
    m.verdict = significant ? "worse" : "noise";
  } else if (-bad > threshold) {
    m.verdict = significant ? "better" : "noise";
  } else {
    m.verdict = "same";
  }
  return m;
}

// "[-26.1%, -23.5%]" (after `lead`); "" without repetitions.
std::string interval_text(const MetricComparison& m, const char* lead) {
  if (!m.change_interval) return "";
  return fmt::format("{}[{:+.1f}%, {:+.1f}%]", lead, 100 * m.change_interval->lo,
                     100 * m.change_interval->hi);
}

std::string point_label(const MetricComparison& m) {
  return fmt::format("{} {} c={}{}{}", m.model, m.workload.empty() ? "hello" : m.workload,
                     m.connections, m.rate > 0 ? fmt::format(" R={:g}", m.rate) : "",
                     m.idle_connections > 0 ? fmt::format(" idle={}", m.idle_connections) : "");
}

}  // namespace

bool Comparison::regressed() const {
  for (const auto& m : metrics)
    if (m.verdict == "worse") return true;
  return false;
}

Comparison compare_results(const std::string& base_csv, const std::string& new_csv,
                           const CompareOptions& options) {
  Comparison comparison;
  Points base, fresh;
  std::string base_name = base_csv, new_name = new_csv;
  if (new_csv.empty()) {  // one CSV from `run --binary A --binary B`: A against B
    const std::vector<std::string> builds = builds_in(base_csv);
    if (builds.size() != 2)
      throw UnusableInput(fmt::format(
          "{}: one CSV is compared build against build, and it names {} builds (run with "
          "--binary A --binary B)",
          base_csv, builds.size()));
    base = read_points(base_csv, builds[0]);
    fresh = read_points(base_csv, builds[1]);
    base_name = base_csv + "@" + builds[0];
    new_name = base_csv + "@" + builds[1];
    comparison.notes.push_back(
        fmt::format("build {} (base) against build {} (new), same run", builds[0], builds[1]));
  } else {
    base = read_points(base_csv);
    fresh = read_points(new_csv);
  }
  if (!options.normalize_by.empty()) {
    base = normalize(base, options.normalize_by, comparison.notes, base_name);
    fresh = normalize(fresh, options.normalize_by, comparison.notes, new_name);
  }
  std::vector<const Metric*> wanted;  // in the table's order
  for (const auto& name : judged_metric_names())
    if (std::find(options.metrics.begin(), options.metrics.end(), name) != options.metrics.end())
      wanted.push_back(find_metric(name));
  size_t repetitions = 0;
  for (const auto& [key, base_samples] : base) {
    const auto it = fresh.find(key);
    if (it == fresh.end()) continue;
    const Samples& new_samples = it->second;
    // Judged where both sides measured it.
    for (const Metric* metric : wanted) {
      const auto b = base_samples.find(metric), n = new_samples.find(metric);
      if (b == base_samples.end() || n == new_samples.end()) continue;
      comparison.metrics.push_back(judge(key, *metric, b->second, n->second, options));
      repetitions = std::max(repetitions, b->second.size());
    }
  }
  if (comparison.metrics.empty())
    throw UnusableInput(
        fmt::format("{} and {} have no point in common (model, workload, connections, rate)",
                    base_name, new_name));
  if (repetitions < 2)
    comparison.notes.push_back(
        "no repetitions: verdicts use the threshold alone (run with --repeat 5)");
  return comparison;
}

std::string format_comparison(const Comparison& c, const CompareOptions& options) {
  const bool normalized = !options.normalize_by.empty();
  const auto value = [&](const MetricComparison& m, double v) {
    if (normalized) return fmt::format("{:.3f}x", v);
    int decimals = 0;
    for (const auto& metric : metrics())
      if (metric.report_name() == m.metric) decimals = metric.decimals;
    return fmt::format("{:.{}f}", v, decimals);
  };
  std::string out;
  switch (options.format) {
    case CompareOptions::Format::kJson: {
      nlohmann::ordered_json points = nlohmann::ordered_json::array();
      for (const auto& m : c.metrics)
        points.push_back(
            {{"model", m.model},
             {"workload", m.workload},
             {"connections", m.connections},
             {"rate", m.rate},
             {"idle_connections", m.idle_connections},
             {"metric", m.metric},
             {"base", m.base_median},
             {"new", m.new_median},
             {"change", m.change},
             {"change_lo", m.change_interval ? nlohmann::ordered_json(m.change_interval->lo)
                                             : nlohmann::ordered_json()},
             {"change_hi", m.change_interval ? nlohmann::ordered_json(m.change_interval->hi)
                                             : nlohmann::ordered_json()},
             {"p", m.p},
             {"verdict", m.verdict}});
      const nlohmann::ordered_json json = {{"regressed", c.regressed()},
                                           {"threshold", options.threshold},
                                           {"p99_threshold", options.p99_threshold},
                                           {"alpha", options.alpha},
                                           {"normalize_by", options.normalize_by},
                                           {"points", points},
                                           {"notes", c.notes}};
      return json.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
    }
    case CompareOptions::Format::kMarkdown: {
      out = fmt::format("### cmbench compare: {}\n\n",
                        c.regressed() ? "**regression**" : "no regression");
      out +=
          "| point | metric | base | new | change | p | verdict "
          "|\n|---|---|---:|---:|---:|---:|---|\n";
      for (const auto& m : c.metrics)
        out +=
            fmt::format("| {} | {} | {} | {} | {:+.1f}%{} | {:.3g} | {} |\n", point_label(m),
                        m.metric, value(m, m.base_median), value(m, m.new_median), 100 * m.change,
                        interval_text(m, " "), m.p, m.verdict == "worse" ? "**worse**" : m.verdict);
      for (const auto& note : c.notes) out += fmt::format("\n> {}\n", note);
      out += fmt::format("\nThresholds: rps {:g}%, p99 {:g}%; alpha {:g}{}.\n",
                         100 * options.threshold, 100 * options.p99_threshold, options.alpha,
                         normalized ? fmt::format(", normalized by {}", options.normalize_by) : "");
      return out;
    }
    case CompareOptions::Format::kText:
      break;
  }
  out = fmt::format("{:<44} {:<7} {:>12} {:>12} {:>8} {:>18} {:>7}  {}\n", "point", "metric",
                    "base", "new", "change", "95% interval", "p", "verdict");
  for (const auto& m : c.metrics)
    out += fmt::format("{:<44} {:<7} {:>12} {:>12} {:>+7.1f}% {:>18} {:>7.3g}  {}\n",
                       point_label(m), m.metric, value(m, m.base_median), value(m, m.new_median),
                       100 * m.change, interval_text(m, ""), m.p, m.verdict);
  for (const auto& note : c.notes) out += "note: " + note + "\n";
  out += c.regressed() ? "verdict: worse beyond noise\n" : "verdict: no regression\n";
  return out;
}

int compare_command(const std::string& base_csv, const std::string& new_csv,
                    const CompareOptions& options) {
  try {
    const Comparison comparison = compare_results(base_csv, new_csv, options);
    fmt::print("{}", format_comparison(comparison, options));
    return comparison.regressed() ? 1 : 0;
  } catch (const UnusableInput& e) {
    fmt::print(stderr, "cmbench compare: {}\n", e.what());
    return 2;
  }
}

}  // namespace cmb::harness
