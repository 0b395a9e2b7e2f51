#include "harness/compare.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>

#include "harness/csv.hpp"
#include "harness/stats.hpp"

namespace cmb::harness {
namespace {

struct Samples {
  std::vector<double> rps;
  std::vector<double> p99;
};

using Points = std::map<PointKey, Samples>;

Points read_points(const std::string& path) {
  try {
    const CsvTable table = read_csv_table(path);
    const PointReader identity(table);
    const int rps = table.column("rps"), p99 = table.column("latency_p99_us"),
              error = table.column("error");
    if (rps < 0 || p99 < 0 || error < 0)
      throw std::runtime_error("no 'rps', 'latency_p99_us' or 'error' column");
    Points points;
    for (const auto& row : table.rows) {
      if (row.size() != table.header.size()) continue;         // a torn line: skip it
      if (!row[static_cast<size_t>(error)].empty()) continue;  // a failed point has no figures
      Samples& samples = points[identity.read(row).point()];
      samples.rps.push_back(std::stod(row[static_cast<size_t>(rps)]));
      samples.p99.push_back(std::stod(row[static_cast<size_t>(p99)]));
    }
    return points;
  } catch (const std::logic_error&) {
    throw UnusableInput(fmt::format("{}: a row has a number that does not parse", path));
  } catch (const std::runtime_error& e) {
    throw UnusableInput(fmt::format("{}: {}", path, e.what()));
  }
}

// Every sample divided by the reference model's median at the same point;
// the reference model itself leaves the comparison.
Points normalize(const Points& points, const std::string& reference,
                 std::vector<std::string>& notes, const std::string& path) {
  Points out;
  bool any_reference = false;
  for (const auto& [key, samples] : points) {
    const auto& [model, threads, workload, connections, rate] = key;
    if (model == reference) {
      any_reference = true;
      continue;
    }
    // The reference at the same workload, connections and rate (its own threads).
    const auto ref = std::find_if(points.begin(), points.end(), [&](const auto& entry) {
      const auto& [m, t, w, c, r] = entry.first;
      return m == reference && w == workload && c == connections && r == rate;
    });
    if (ref == points.end()) {
      notes.push_back(fmt::format("{}: no {} point to normalize {} {} c={} by; left out", path,
                                  reference, model, workload, connections));
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
  std::tie(m.model, std::ignore, m.workload, m.connections, m.rate) = key;
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
      nlohmann::ordered_json points = nlohmann::ordered_json::array();
      for (const auto& m : c.metrics)
        points.push_back({{"model", m.model},
                          {"workload", m.workload},
                          {"connections", m.connections},
                          {"rate", m.rate},
                          {"metric", m.metric},
                          {"base", m.base_median},
                          {"new", m.new_median},
                          {"change", m.change},
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
