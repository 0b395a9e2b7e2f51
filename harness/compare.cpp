#include "harness/compare.hpp"

#include <fmt/format.h>

#include <map>
#include <tuple>

#include "harness/csv.hpp"
#include "harness/stats.hpp"
#include "loadgen/report.hpp"

namespace cmb::harness {
namespace {

struct PointKey {
  std::string model;
  std::string workload;
  int connections;
  double rate;
  auto tie() const { return std::tie(model, workload, connections, rate); }
  bool operator<(const PointKey& other) const { return tie() < other.tie(); }
};

struct Samples {
  std::vector<double> rps;
  std::vector<double> p99;
};

using Points = std::map<PointKey, Samples>;

Points read_points(const std::string& path) {
  CsvTable table;
  try {
    table = read_csv_table(path);
  } catch (const std::runtime_error& e) {
    throw UnusableInput(e.what());
  }
  std::vector<int> at;
  for (const char* name :
       {"model", "workload", "connections", "rate", "rps", "latency_p99_us", "error"}) {
    const int index = table.column(name);
    if (index < 0)
      throw UnusableInput(
          fmt::format("{} has no '{}' column: not a cmbench results CSV", path, name));
    at.push_back(index);
  }
  Points points;
  for (const auto& row : table.rows) {
    if (row.size() != table.header.size()) continue;         // a torn line: skip it
    if (!row[static_cast<size_t>(at[6])].empty()) continue;  // a failed point has no figures
    try {
      const PointKey key{row[static_cast<size_t>(at[0])], row[static_cast<size_t>(at[1])],
                         std::stoi(row[static_cast<size_t>(at[2])]),
                         std::stod(row[static_cast<size_t>(at[3])])};
      Samples& samples = points[key];
      samples.rps.push_back(std::stod(row[static_cast<size_t>(at[4])]));
      samples.p99.push_back(std::stod(row[static_cast<size_t>(at[5])]));
    } catch (const std::exception&) {
      throw UnusableInput(fmt::format("{}: a row has a number that does not parse", path));
    }
  }
  return points;
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
    const auto ref = points.find({reference, key.workload, key.connections, key.rate});
    if (ref == points.end()) {
      notes.push_back(fmt::format("{}: no {} point to normalize {} {} c={} by; left out", path,
                                  reference, key.model, key.workload, key.connections));
      continue;
    }
    const double ref_rps = median(ref->second.rps), ref_p99 = median(ref->second.p99);
    Samples& scaled = out[key];
    for (double v : samples.rps) scaled.rps.push_back(ref_rps > 0 ? v / ref_rps : 0);
    for (double v : samples.p99) scaled.p99.push_back(ref_p99 > 0 ? v / ref_p99 : 0);
  }
  if (!any_reference)
    throw UnusableInput(
        fmt::format("{} has no points of the reference model '{}'", path, reference));
  return out;
}

MetricComparison judge(const PointKey& key, const std::string& metric,
                       const std::vector<double>& base, const std::vector<double>& fresh,
                       bool higher_is_better, const CompareOptions& options) {
  MetricComparison m;
  m.model = key.model;
  m.workload = key.workload;
  m.connections = key.connections;
  m.rate = key.rate;
  m.metric = metric;
  m.base = base;
  m.fresh = fresh;
  m.base_median = median(base);
  m.new_median = median(fresh);
  m.change = m.base_median != 0 ? (m.new_median - m.base_median) / m.base_median : 0;
  const bool testable = base.size() >= 2 && fresh.size() >= 2;
  m.p = testable ? welch_p(base, fresh) : 1.0;
  const bool significant = !testable || m.p < options.alpha;
  const double bad = higher_is_better ? -m.change : m.change;  // > 0: moved the wrong way
  const double threshold = higher_is_better ? options.threshold : options.p99_threshold;
  if (bad > threshold) {
    m.verdict = significant ? "worse" : "noise";
  } else if (-bad > threshold) {
    m.verdict = significant ? "better" : "noise";
  } else {
    m.verdict = "same";
  }
  return m;
}

std::string point_label(const MetricComparison& m) {
  return fmt::format("{} {} c={}{}", m.model, m.workload.empty() ? "hello" : m.workload,
                     m.connections, m.rate > 0 ? fmt::format(" R={:g}", m.rate) : "");
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
  Points base = read_points(base_csv), fresh = read_points(new_csv);
  if (!options.normalize_by.empty()) {
    base = normalize(base, options.normalize_by, comparison.notes, base_csv);
    fresh = normalize(fresh, options.normalize_by, comparison.notes, new_csv);
  }
  for (const auto& [key, base_samples] : base) {
    const auto it = fresh.find(key);
    if (it == fresh.end()) continue;
    const Samples& new_samples = it->second;
    comparison.metrics.push_back(
        judge(key, "rps", base_samples.rps, new_samples.rps, true, options));
    comparison.metrics.push_back(
        judge(key, "p99_us", base_samples.p99, new_samples.p99, false, options));
  }
  if (comparison.metrics.empty())
    throw UnusableInput(
        fmt::format("{} and {} have no point in common (model, workload, connections, rate)",
                    base_csv, new_csv));
  if (base.begin()->second.rps.size() < 2)
    comparison.notes.push_back(
        "no repetitions: verdicts use the threshold alone (run with --repeat 5)");
  return comparison;
}

std::string format_comparison(const Comparison& c, const CompareOptions& options) {
  const bool normalized = !options.normalize_by.empty();
  const auto value = [&](const MetricComparison& m, double v) {
    return normalized          ? fmt::format("{:.3f}x", v)
           : m.metric == "rps" ? fmt::format("{:.1f}", v)
                               : fmt::format("{:.0f}", v);
  };
  std::string out;
  switch (options.format) {
    case CompareOptions::Format::kJson: {
      out = fmt::format(
          R"({{"regressed": {}, "threshold": {:g}, "p99_threshold": {:g}, "alpha": {:g}, "normalize_by": {}, "points": [)",
          c.regressed(), options.threshold, options.p99_threshold, options.alpha,
          loadgen::json_quote(options.normalize_by));
      for (size_t i = 0; i < c.metrics.size(); ++i) {
        const auto& m = c.metrics[i];
        out += fmt::format(
            R"({}{{"model": {}, "workload": {}, "connections": {}, "rate": {:g}, "metric": "{}", "base": {:.6g}, "new": {:.6g}, "change": {:.4f}, "p": {:.4g}, "verdict": "{}"}})",
            i ? ", " : "", loadgen::json_quote(m.model), loadgen::json_quote(m.workload),
            m.connections, m.rate, m.metric, m.base_median, m.new_median, m.change, m.p, m.verdict);
      }
      out += R"(], "notes": [)";
      for (size_t i = 0; i < c.notes.size(); ++i)
        out += (i ? ", " : "") + loadgen::json_quote(c.notes[i]);
      return out + "]}\n";
    }
    case CompareOptions::Format::kMarkdown: {
      out = fmt::format("### cmbench compare: {}\n\n",
                        c.regressed() ? "**regression**" : "no regression");
      out +=
          "| point | metric | base | new | change | p | verdict "
          "|\n|---|---|---:|---:|---:|---:|---|\n";
      for (const auto& m : c.metrics)
        out += fmt::format("| {} | {} | {} | {} | {:+.1f}% | {:.3g} | {} |\n", point_label(m),
                           m.metric, value(m, m.base_median), value(m, m.new_median),
                           100 * m.change, m.p, m.verdict == "worse" ? "**worse**" : m.verdict);
      for (const auto& note : c.notes) out += fmt::format("\n> {}\n", note);
      out += fmt::format("\nThresholds: rps {:g}%, p99 {:g}%; alpha {:g}{}.\n",
                         100 * options.threshold, 100 * options.p99_threshold, options.alpha,
                         normalized ? fmt::format(", normalized by {}", options.normalize_by) : "");
      return out;
    }
    case CompareOptions::Format::kText:
      break;
  }
  out = fmt::format("{:<44} {:<7} {:>12} {:>12} {:>8} {:>7}  {}\n", "point", "metric", "base",
                    "new", "change", "p", "verdict");
  for (const auto& m : c.metrics)
    out += fmt::format("{:<44} {:<7} {:>12} {:>12} {:>+7.1f}% {:>7.3g}  {}\n", point_label(m),
                       m.metric, value(m, m.base_median), value(m, m.new_median), 100 * m.change,
                       m.p, m.verdict);
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
