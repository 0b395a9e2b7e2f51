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

// One results CSV as compare reads it: the measured points' samples, and the
// points with an error row (the first row's reason).
struct Side {
  Points measured;
  std::map<PointKey, std::string> failed;
};

// The build label of a model swept with --binary ("epoll@B" -> "B"), or "".
std::string build_of(const std::string& model) { return parse_model_spec(model).build; }

// A results CSV's points. With `build`, only that build's rows (MODEL@build),
// keyed by the bare model so the other build's points match them.
Side read_side(const std::string& path, const std::string& build = "") {
  try {
    const CsvTable table = read_csv_table(path);
    const PointReader identity(table);
    for (const auto& column : required_columns())
      if (table.column(column) < 0) throw std::runtime_error(fmt::format("no '{}' column", column));
    const auto error = static_cast<size_t>(table.column("error"));
    std::vector<std::pair<const Metric*, int>> judged;  // and their columns here
    for (const auto& name : judged_metric_names())
      if (const Metric* metric = find_metric(name); table.column(metric->columns[0]) >= 0)
        judged.emplace_back(metric, table.column(metric->columns[0]));
    Side side;
    for (const auto& row : table.rows) {
      PointKey key = identity.read(row).point();
      if (!build.empty()) {
        const ModelSpec spec = parse_model_spec(key.model);
        if (spec.build != build) continue;
        key.model = spec.without_build();
      }
      if (!table.measured(row)) {  // a failed point has no figures
        side.failed.emplace(key, row[error]);
        continue;
      }
      Samples& samples = side.measured[key];
      for (const auto& [metric, column] : judged)
        if (const std::string& cell = row[static_cast<size_t>(column)]; !cell.empty())
          samples[metric].push_back(std::stod(cell));
    }
    return side;
  } catch (const std::logic_error&) {
    throw UnusableInput(fmt::format("{}: a row has a number that does not parse", path));
  } catch (const std::runtime_error& e) {
    throw UnusableInput(fmt::format("{}: {}", path, e.what()));
  }
}

// The points that are not measured on both sides, in BASE's order then NEW's.
std::vector<PointChange> changed_points(const Side& base, const Side& fresh, bool allow_missing) {
  using Kind = PointChange::Kind;
  std::vector<PointChange> changes;
  const auto fresh_failed = [&](const PointKey& key) { return fresh.failed.find(key); };
  for (const auto& [key, samples] : base.measured) {
    if (const auto f = fresh_failed(key); f != fresh.failed.end())
      changes.push_back({key, Kind::kFailed, f->second, false});
    else if (!fresh.measured.count(key))
      changes.push_back({key, Kind::kMissing, "", allow_missing});
  }
  for (const auto& [key, reason] : base.failed)
    if (const auto f = fresh_failed(key); f != fresh.failed.end() && !base.measured.count(key))
      changes.push_back({key, Kind::kStillFailing, f->second, false});
  for (const auto& [key, samples] : fresh.measured)
    if (!base.measured.count(key) && !fresh.failed.count(key))
      changes.push_back({key, Kind::kNew, "", false});
  return changes;
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

// The one verdict rule: a move beyond the threshold counts when the
// repetitions cannot explain it, that is when the change's interval lies
// wholly on the move's side of 0. Without repetitions the threshold alone.
std::string verdict(const MetricComparison& m, const Metric& metric,
                    const CompareOptions& options) {
  // requests/s and CPU per request move little between identical runs; p99 a lot.
  const double threshold = metric.noisy ? options.p99_threshold : options.threshold;
  if (std::abs(m.change) <= threshold) return "same";
  const bool up = m.change > 0;
  if (m.change_interval && (up ? m.change_interval->lo <= 0 : m.change_interval->hi >= 0))
    return "same";  // the interval holds 0: the scatter explains the move
  return up == (metric.better == Better::kHigher) ? "better" : "worse";
}

MetricComparison judge(const PointKey& key, const Metric& metric, const std::vector<double>& base,
                       const std::vector<double>& fresh, const CompareOptions& options) {
  MetricComparison m;
  m.point = key;
  m.metric = metric.report_name();
  m.base = base;
  m.fresh = fresh;
  m.base_median = median(base);
  m.new_median = median(fresh);
  m.change = m.base_median != 0 ? (m.new_median - m.base_median) / m.base_median : 0;
  if (base.size() >= 2 && fresh.size() >= 2)
    m.change_interval = change_interval(base, fresh, 1 - options.alpha);
  m.verdict = verdict(m, metric, options);
  return m;
}

// "[-26.1%, -23.5%]" (after `lead`); "" without repetitions.
std::string interval_text(const MetricComparison& m, const char* lead) {
  if (!m.change_interval) return "";
  return fmt::format("{}[{:+.1f}%, {:+.1f}%]", lead, 100 * m.change_interval->lo,
                     100 * m.change_interval->hi);
}

std::string point_label(const PointKey& p) {
  return fmt::format("{} {} c={}{}{}", p.model, p.workload.empty() ? "hello" : p.workload,
                     p.connections, p.rate > 0 ? fmt::format(" R={:g}", p.rate) : "",
                     p.idle_connections > 0 ? fmt::format(" idle={}", p.idle_connections) : "");
}

}  // namespace

std::string PointChange::name(Kind kind) {
  switch (kind) {
    case Kind::kMissing:
      return "missing";
    case Kind::kFailed:
      return "failed";
    case Kind::kStillFailing:
      return "still failing";
    case Kind::kNew:
      return "new";
  }
  return "";
}

bool Comparison::regressed() const {
  return std::any_of(metrics.begin(), metrics.end(),
                     [](const auto& m) { return m.verdict == "worse"; }) ||
         std::any_of(points.begin(), points.end(), [](const auto& p) { return p.regressed(); });
}

namespace {

// BASE's and NEW's sides, named for messages: two files, or one A/B file's
// two builds.
struct Sides {
  Side base, fresh;
  std::string base_name, new_name;
};

Sides read_sides(const std::string& base_csv, const std::string& new_csv,
                 std::vector<std::string>& notes) {
  if (!new_csv.empty()) return {read_side(base_csv), read_side(new_csv), base_csv, new_csv};
  // One CSV from `run --binary A --binary B`: A against B.
  const std::vector<std::string> builds = builds_in(base_csv);
  if (builds.size() != 2)
    throw UnusableInput(
        fmt::format("{}: one CSV is compared build against build, and it names {} builds (run with "
                    "--binary A --binary B)",
                    base_csv, builds.size()));
  notes.push_back(
      fmt::format("build {} (base) against build {} (new), same run", builds[0], builds[1]));
  return {read_side(base_csv, builds[0]), read_side(base_csv, builds[1]),
          base_csv + "@" + builds[0], base_csv + "@" + builds[1]};
}

}  // namespace

Comparison compare_results(const std::string& base_csv, const std::string& new_csv,
                           const CompareOptions& options) {
  Comparison comparison;
  Sides sides = read_sides(base_csv, new_csv, comparison.notes);
  comparison.points = changed_points(sides.base, sides.fresh, options.allow_missing);
  Points& base = sides.base.measured;
  Points& fresh = sides.fresh.measured;
  if (!options.normalize_by.empty()) {
    base = normalize(base, options.normalize_by, comparison.notes, sides.base_name);
    fresh = normalize(fresh, options.normalize_by, comparison.notes, sides.new_name);
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
  const bool any_failed =
      std::any_of(comparison.points.begin(), comparison.points.end(),
                  [](const auto& p) { return p.kind == PointChange::Kind::kFailed; });
  if (comparison.metrics.empty() && !any_failed)
    throw UnusableInput(
        fmt::format("{} and {} have no point in common (model, workload, connections, rate)",
                    sides.base_name, sides.new_name));
  if (repetitions < 2 && !comparison.metrics.empty())
    comparison.notes.push_back(
        "no repetitions: verdicts use the threshold alone (run with --repeat 5)");
  return comparison;
}

namespace {

// How a figure is printed: as a ratio when normalized, else with its
// metric's decimals.
std::string value_text(const MetricComparison& m, double v, const CompareOptions& options) {
  if (!options.normalize_by.empty()) return fmt::format("{:.3f}x", v);
  int decimals = 0;
  for (const auto& metric : metrics())
    if (metric.report_name() == m.metric) decimals = metric.decimals;
  return fmt::format("{:.{}f}", v, decimals);
}

std::string level_text(const CompareOptions& options) {
  return fmt::format("{:g}%", 100 * (1 - options.alpha));
}

// "missing (allowed)", "failed: server 'x' did not start", "new".
std::string change_text(const PointChange& p) {
  std::string text = p.kind_name();
  if (p.allowed) text += " (allowed: --allow-missing)";
  if (!p.reason.empty()) text += ": " + p.reason;
  return text;
}

// "regression (2 worse, 4 missing)", "no regression (1 better)".
std::string verdict_text(const Comparison& c) {
  std::map<std::string, int> counts;
  for (const auto& m : c.metrics)
    if (m.verdict != "same") ++counts[m.verdict];
  for (const auto& p : c.points) ++counts[p.kind_name()];
  std::vector<std::string> parts;
  for (const auto& [what, n] : counts) parts.push_back(fmt::format("{} {}", n, what));
  return fmt::format("{}{}", c.regressed() ? "regression" : "no regression",
                     parts.empty() ? "" : fmt::format(" ({})", fmt::join(parts, ", ")));
}

nlohmann::ordered_json point_json(const PointKey& p) {
  return {{"model", p.model},
          {"workload", p.workload},
          {"connections", p.connections},
          {"rate", p.rate},
          {"idle_connections", p.idle_connections}};
}

std::string format_json(const Comparison& c, const CompareOptions& options) {
  using Json = nlohmann::ordered_json;
  Json points = Json::array();
  for (const auto& m : c.metrics) {
    Json point = point_json(m.point);
    point.update(Json{{"metric", m.metric},
                      {"base", m.base_median},
                      {"new", m.new_median},
                      {"change", m.change},
                      {"change_lo", m.change_interval ? Json(m.change_interval->lo) : Json()},
                      {"change_hi", m.change_interval ? Json(m.change_interval->hi) : Json()},
                      {"verdict", m.verdict}});
    points.push_back(std::move(point));
  }
  Json json = {{"regressed", c.regressed()},
               {"threshold", options.threshold},
               {"p99_threshold", options.p99_threshold},
               {"alpha", options.alpha},
               {"normalize_by", options.normalize_by},
               {"points", points}};
  for (const auto kind : {PointChange::Kind::kMissing, PointChange::Kind::kFailed,
                          PointChange::Kind::kStillFailing, PointChange::Kind::kNew}) {
    Json listed = Json::array();
    for (const auto& p : c.points)
      if (p.kind == kind) {
        Json point = point_json(p.point);
        if (kind == PointChange::Kind::kMissing) point["allowed"] = p.allowed;
        if (!p.reason.empty()) point["reason"] = p.reason;
        listed.push_back(std::move(point));
      }
    std::string key = PointChange::name(kind);  // "still_failing"
    std::replace(key.begin(), key.end(), ' ', '_');
    json[key] = std::move(listed);
  }
  json["notes"] = c.notes;
  return json.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string format_markdown(const Comparison& c, const CompareOptions& options) {
  std::string out = fmt::format("### cmbench compare: {}\n\n",
                                c.regressed() ? "**" + verdict_text(c) + "**" : verdict_text(c));
  if (!c.metrics.empty())
    out += fmt::format("| point | metric | base | new | change [{} interval] | verdict |\n",
                       level_text(options)) +
           "|---|---|---:|---:|---:|---|\n";
  for (const auto& m : c.metrics)
    out += fmt::format("| {} | {} | {} | {} | {:+.1f}%{} | {} |\n", point_label(m.point), m.metric,
                       value_text(m, m.base_median, options), value_text(m, m.new_median, options),
                       100 * m.change, interval_text(m, " "),
                       m.verdict == "worse" ? "**worse**" : m.verdict);
  if (!c.points.empty()) out += "\n| point | not compared |\n|---|---|\n";
  for (const auto& p : c.points)
    out += fmt::format("| {} | {} |\n", point_label(p.point),
                       p.regressed() ? "**" + change_text(p) + "**" : change_text(p));
  for (const auto& note : c.notes) out += fmt::format("\n> {}\n", note);
  out += fmt::format(
      "\nThresholds: rps {:g}%, p99 {:g}%; {} intervals{}.\n", 100 * options.threshold,
      100 * options.p99_threshold, level_text(options),
      options.normalize_by.empty() ? "" : fmt::format(", normalized by {}", options.normalize_by));
  return out;
}

std::string format_text(const Comparison& c, const CompareOptions& options) {
  std::string out =
      fmt::format("{:<44} {:<7} {:>12} {:>12} {:>8} {:>18}  {}\n", "point", "metric", "base", "new",
                  "change", level_text(options) + " interval", "verdict");
  for (const auto& m : c.metrics)
    out += fmt::format("{:<44} {:<7} {:>12} {:>12} {:>+7.1f}% {:>18}  {}\n", point_label(m.point),
                       m.metric, value_text(m, m.base_median, options),
                       value_text(m, m.new_median, options), 100 * m.change, interval_text(m, ""),
                       m.verdict);
  for (const auto& p : c.points)
    out += fmt::format("{:<44} {}\n", point_label(p.point), change_text(p));
  for (const auto& note : c.notes) out += "note: " + note + "\n";
  return out + "verdict: " + verdict_text(c) + "\n";
}

}  // namespace

std::string format_comparison(const Comparison& c, const CompareOptions& options) {
  switch (options.format) {
    case CompareOptions::Format::kJson:
      return format_json(c, options);
    case CompareOptions::Format::kMarkdown:
      return format_markdown(c, options);
    case CompareOptions::Format::kText:
      break;
  }
  return format_text(c, options);
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
