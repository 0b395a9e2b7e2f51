#include "harness/results/claims.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>

#include "harness/base/stats.hpp"
#include "harness/results/csv.hpp"
#include "harness/results/metrics.hpp"
#include "harness/results/schema.hpp"

namespace cmb::harness {
namespace {

// The imbalance metric's figure, computed from server_accepts_per_thread.
const std::string& imbalance_column() { return find_metric("imbalance")->columns.front(); }

// max / mean of "a|b|c" (server_accepts_per_thread); std::nullopt when
// nothing was accepted.
std::optional<double> accept_imbalance(const std::string& field) {
  std::vector<double> counts;
  for (size_t at = 0; at <= field.size();) {
    const size_t bar = std::min(field.find('|', at), field.size());
    if (bar > at) counts.push_back(std::stod(field.substr(at, bar - at)));
    at = bar + 1;
  }
  double total = 0, most = 0;
  for (double c : counts) {
    total += c;
    most = std::max(most, c);
  }
  if (counts.empty() || total <= 0) return std::nullopt;
  return most / (total / static_cast<double>(counts.size()));
}

struct Selector {
  std::string axis;   // connections, rate, workload
  std::string value;  // a number, min, max, or a workload
};

struct Side {
  const Metric* metric = nullptr;
  std::string model;
  std::vector<Selector> at;
};

struct Claim {
  enum class Form { kBound, kRatio, kTrend } form = Form::kBound;
  Side left;
  std::string cmp;    // bound and ratio
  double value = 0;   // bound: in the metric's unit
  double factor = 1;  // ratio
  Side right;         // ratio
  std::string trend;  // flat, rises, falls
  std::string axis;   // trend
  double amount = 0;  // flat: the ratio max/min may reach; rises/falls: the factor
};

// What a claim's figures say: held or not, or not measured (nullopt), and
// the figures, or why there are none.
struct Judgement {
  std::optional<bool> held;
  std::string measured;
};

[[noreturn]] void bad(const std::string& text, const std::string& why) {
  throw std::invalid_argument(fmt::format("claim '{}': {}", text, why));
}

bool is_cmp(const std::string& token) {
  return token == ">=" || token == "<=" || token == ">" || token == "<";
}

// The numeric axes a sweep varies.
bool is_axis(const std::string& token) {
  return token == "connections" || token == "rate" || token == "idle_connections";
}

bool compare(double a, const std::string& cmp, double b) {
  if (cmp == ">=") return a >= b;
  if (cmp == "<=") return a <= b;
  if (cmp == ">") return a > b;
  return a < b;
}

// "25ms" in the metric's unit; throws std::invalid_argument without context.
double parse_value(const std::string& token, Scale unit) {
  static const std::regex pattern(R"(^([0-9]*\.?[0-9]+)(ms|us|µs|s|KiB|MiB|GiB)?$)");
  std::smatch match;
  if (!std::regex_match(token, match, pattern))
    throw std::invalid_argument(fmt::format("'{}' is not a number with a unit", token));
  const double number = std::stod(match[1]);
  const std::string suffix = match[2];
  if (suffix.empty()) return number;
  const std::map<std::string, std::pair<Scale, double>> scale = {
      {"us", {Scale::kMicros, 1}},         {"µs", {Scale::kMicros, 1}},
      {"ms", {Scale::kMicros, 1e3}},       {"s", {Scale::kMicros, 1e6}},
      {"KiB", {Scale::kKib, 1}},           {"MiB", {Scale::kKib, 1024}},
      {"GiB", {Scale::kKib, 1024 * 1024}},
  };
  auto [kind, factor] = scale.at(suffix);
  if (unit == Scale::kSeconds && kind == Scale::kMicros) return number * factor / 1e6;
  if (kind != unit) throw std::invalid_argument(fmt::format("'{}' has the wrong unit", token));
  return number * factor;
}

std::vector<std::string_view> metric_names() {
  std::vector<std::string_view> names;
  for (const auto& metric : metrics()) names.push_back(metric.name);
  return names;
}

// Reads `METRIC MODEL [at SEL,...]` from tokens[i...]; leaves i after it.
Side parse_side(const std::string& text, const std::vector<std::string>& tokens, size_t& i) {
  if (i + 1 >= tokens.size()) bad(text, "expected METRIC MODEL");
  Side side;
  side.metric = find_metric(tokens[i]);
  if (side.metric == nullptr)
    bad(text, fmt::format("unknown metric '{}' ({})", tokens[i], fmt::join(metric_names(), ", ")));
  side.model = tokens[i + 1];
  i += 2;
  if (i < tokens.size() && tokens[i] == "at") {
    if (i + 1 >= tokens.size()) bad(text, "'at' names no point");
    std::stringstream list(tokens[i + 1]);
    for (std::string item; std::getline(list, item, ',');) {
      const size_t equals = item.find('=');
      Selector selector{item.substr(0, equals),
                        equals == std::string::npos ? "" : item.substr(equals + 1)};
      if (!is_axis(selector.axis) && selector.axis != "workload")
        bad(text, fmt::format("'{}': select by connections=, rate=, idle_connections= or workload=",
                              item));
      if (selector.axis != "workload" && selector.value != "min" && selector.value != "max" &&
          selector.value.find_first_not_of("0123456789.") != std::string::npos)
        bad(text, fmt::format("'{}': a number, min or max", item));
      side.at.push_back(selector);
    }
    i += 2;
  }
  return side;
}

// After SIDE: "flat over AXIS within P%" or "rises|falls over AXIS by Kx",
// from tokens[i].
void parse_trend(const std::string& text, const std::vector<std::string>& tokens, size_t i,
                 Claim& claim) {
  claim.form = Claim::Form::kTrend;
  claim.trend = tokens[i];
  if (i + 5 != tokens.size() || tokens[i + 1] != "over" || !is_axis(tokens[i + 2]) ||
      tokens[i + 3] != (claim.trend == "flat" ? "within" : "by"))
    bad(text, "expected 'flat over AXIS within P%' or 'rises|falls over AXIS by Kx'");
  claim.axis = tokens[i + 2];
  // 'at' picks the line (workload=...); the trend runs along the rest.
  for (const auto& selector : claim.left.at)
    if (selector.axis == claim.axis)
      bad(text, fmt::format("a trend over {} cannot also pick a point of it", claim.axis));
  const std::string& amount = tokens[i + 4];
  try {
    if (claim.trend == "flat") {
      if (!amount.ends_with('%')) bad(text, "flat needs 'within P%'");
      claim.amount = 1 + std::stod(amount.substr(0, amount.size() - 1)) / 100;
    } else {
      if (!amount.ends_with('x')) bad(text, claim.trend + " needs 'by Kx'");
      claim.amount = std::stod(amount.substr(0, amount.size() - 1));
    }
  } catch (const std::logic_error&) {
    bad(text, fmt::format("'{}' is not a number", amount));
  }
}

// After SIDE CMP: "K x SIDE" (or "Kx SIDE") or a value in the metric's
// unit, from tokens[i]; returns where it ended.
size_t parse_comparand(const std::string& text, const std::vector<std::string>& tokens, size_t i,
                       Claim& claim) {
  std::string factor = tokens[i];
  const bool ratio =
      factor.ends_with('x') ? factor.size() > 1 : (i + 1 < tokens.size() && tokens[i + 1] == "x");
  if (!ratio) {
    try {
      claim.value = parse_value(tokens[i++], claim.left.metric->scale);
    } catch (const std::invalid_argument& e) {
      bad(text, e.what());
    }
    return i;
  }
  claim.form = Claim::Form::kRatio;
  if (factor.ends_with('x'))
    factor.pop_back();
  else
    ++i;
  try {
    claim.factor = std::stod(factor);
  } catch (const std::logic_error&) {
    bad(text, fmt::format("'{}' is not a factor", tokens[i]));
  }
  ++i;
  claim.right = parse_side(text, tokens, i);
  if (claim.left.metric->columns.empty() != claim.right.metric->columns.empty())
    bad(text, "a knee compares with a knee");
  return i;
}

Claim parse(const std::string& text) {
  std::vector<std::string> tokens;
  std::stringstream words(text);
  for (std::string word; words >> word;) tokens.push_back(word);
  Claim claim;
  size_t i = 0;
  claim.left = parse_side(text, tokens, i);
  if (i >= tokens.size()) bad(text, "expected a comparison or flat/rises/falls");
  if (tokens[i] == "flat" || tokens[i] == "rises" || tokens[i] == "falls") {
    parse_trend(text, tokens, i, claim);
    return claim;
  }
  if (!is_cmp(tokens[i])) bad(text, fmt::format("'{}' is not >=, <=, > or <", tokens[i]));
  claim.cmp = tokens[i++];
  if (i >= tokens.size()) bad(text, "nothing to compare with");
  i = parse_comparand(text, tokens, i, claim);
  if (i != tokens.size()) bad(text, fmt::format("unexpected '{}'", tokens[i]));
  if (claim.left.metric->columns.empty() && !claim.left.at.empty())
    bad(text, "a knee is the model's, not a point's: no 'at'");
  return claim;
}

// A row of the results, what a claim reads.
struct Row {
  std::string model, workload;
  double connections, rate, idle;
  std::map<std::string, double> figures;
  bool unsteady = false;  // its `steady` column says no

  double axis(const std::string& name) const {
    return name == "rate" ? rate : name == "idle_connections" ? idle : connections;
  }
};

struct Found {
  std::optional<double> value;
  std::string what;  // the point and its figure, or why none
};

std::string figure(double value, const Metric& metric) {
  return fmt::format("{:.4g} {}", value, metric.display_unit());
}

double value_of(const Row& row, const Metric& metric) {
  double sum = 0;
  for (const std::string& column : metric.columns) sum += row.figures.at(column);
  return sum;
}

std::string point_text(const Row& row, bool several_workloads) {
  std::string text = fmt::format("connections={:g}", row.connections);
  if (row.rate > 0) text += fmt::format(" rate={:g}", row.rate);
  if (row.idle > 0) text += fmt::format(" idle_connections={:g}", row.idle);
  if (several_workloads) text += " workload=" + (row.workload.empty() ? "hello" : row.workload);
  return text;
}

class Results {
 public:
  Results(const std::string& csv, const SweepSummary& summary) : summary_(summary) {
    const CsvTable table = read_csv_table(csv);
    const int model = table.column("model"), workload = table.column("workload"),
              connections = table.column("connections"), rate = table.column("rate"),
              accepts = table.column("server_accepts_per_thread"),
              idle = table.column("idle_connections"), steady = table.column("steady");
    std::set<std::string> columns;
    for (const Metric& m : metrics())
      for (const std::string& c : m.columns) columns.insert(c);
    for (const auto& fields : table.rows) {
      if (!table.measured(fields)) continue;
      Row row{fields[static_cast<size_t>(model)],
              fields[static_cast<size_t>(workload)],
              std::stod(fields[static_cast<size_t>(connections)]),
              std::stod(fields[static_cast<size_t>(rate)]),
              idle < 0 ? 0 : std::stod(fields[static_cast<size_t>(idle)]),
              {}};
      for (const std::string& c : columns)
        if (const int at = table.column(c); at >= 0 && !fields[static_cast<size_t>(at)].empty())
          row.figures[c] = std::stod(fields[static_cast<size_t>(at)]);
      row.unsteady = steady >= 0 && fields[static_cast<size_t>(steady)] == "no";
      if (accepts >= 0)
        if (const auto imbalance = accept_imbalance(fields[static_cast<size_t>(accepts)]))
          row.figures[imbalance_column()] = *imbalance;
      workloads_.insert(row.workload);
      rows_.push_back(row);
    }
  }

  // The rows of one model at the side's selectors.
  std::vector<const Row*> select(const Side& side, std::string& why) const {
    std::vector<const Row*> rows;
    for (const Row& row : rows_)
      if (row.model == side.model) rows.push_back(&row);
    if (rows.empty()) {
      why = fmt::format("no measured {} point", side.model);
      return rows;
    }
    for (const Selector& s : side.at) {
      if (s.axis == "workload") {
        std::erase_if(rows, [&](const Row* r) { return r->workload != s.value; });
        continue;
      }
      const auto axis = [&](const Row* r) { return r->axis(s.axis); };
      double wanted = 0;
      if (s.value == "min" || s.value == "max") {
        wanted = axis(rows.front());
        for (const Row* r : rows)
          wanted = s.value == "min" ? std::min(wanted, axis(r)) : std::max(wanted, axis(r));
      } else {
        wanted = std::stod(s.value);
      }
      std::erase_if(rows, [&](const Row* r) { return std::abs(axis(r) - wanted) > 1e-9; });
    }
    if (rows.empty())
      why = fmt::format("no measured {} point at the claim's selection", side.model);
    return rows;
  }

  Found point(const Side& side) const {
    if (side.metric->columns.empty()) return knee(side.model);
    std::string why;
    const std::vector<const Row*> rows = select(side, why);
    if (rows.empty()) return {std::nullopt, why};
    std::set<std::tuple<std::string, double, double, double>> points;
    for (const Row* r : rows) points.insert({r->workload, r->connections, r->rate, r->idle});
    if (points.size() > 1)
      return {std::nullopt, fmt::format("{} {} matches {} points: name one with 'at'",
                                        side.metric->name, side.model, points.size())};
    std::vector<double> samples;
    for (const Row* r : rows) {
      for (const std::string& column : side.metric->columns)
        if (!r->figures.contains(column))
          return {std::nullopt, fmt::format("{} has no {} figure", side.model, column)};
      samples.push_back(value_of(*r, *side.metric));
    }
    const double value = median(samples);
    const bool unsteady =
        std::any_of(rows.begin(), rows.end(), [](const Row* r) { return r->unsteady; });
    return {value,
            fmt::format("{} {} ({}): {}{}", side.metric->name, side.model,
                        point_text(*rows.front(), workloads_.size() > 1),
                        figure(value, *side.metric), unsteady ? " (not in a steady state)" : "")};
  }

  Found knee(const std::string& model) const {
    if (!summary_.rate_sweep) return {std::nullopt, "the sweep has no rates, so no knee"};
    for (const auto& m : summary_.models)
      if (m.model == model)
        return {m.knee_rate.value_or(0),
                m.knee_rate ? fmt::format("knee {}: {:g} req/s (p99 within {:g} ms)", model,
                                          *m.knee_rate, summary_.slo_p99_ms)
                            : fmt::format("knee {}: none (no rate within the p99 SLO of {:g} ms)",
                                          model, summary_.slo_p99_ms)};
    return {std::nullopt, fmt::format("no measured {} point", model)};
  }

  Judgement trend(const Claim& claim) const {
    std::string why;
    const std::vector<const Row*> rows = select(claim.left, why);
    if (rows.empty()) return {std::nullopt, why};
    std::map<double, std::vector<double>> series;
    std::set<std::tuple<std::string, double, double, double>> others;
    for (const Row* r : rows) {
      series[r->axis(claim.axis)].push_back(value_of(*r, *claim.left.metric));
      // The rest of the point's identity: the points of one line share it.
      others.insert({r->workload, claim.axis == "connections" ? 0 : r->connections,
                     claim.axis == "rate" ? 0 : r->rate,
                     claim.axis == "idle_connections" ? 0 : r->idle});
    }
    if (others.size() > 1)
      return {std::nullopt, fmt::format("{} varies in more than {}: the series is not one line",
                                        claim.left.model, claim.axis)};
    if (series.size() < 2)
      return {std::nullopt,
              fmt::format("{} was measured at one {} only", claim.left.model, claim.axis)};
    std::vector<double> axis, values;
    for (const auto& [x, samples] : series) {
      axis.push_back(x);
      values.push_back(median(samples));
    }
    const auto [low, high] = std::minmax_element(values.begin(), values.end());
    double ratio = 0;
    bool held = false;
    std::string rule;
    if (claim.trend == "flat") {
      ratio = *low > 0 ? *high / *low : INFINITY;
      held = ratio <= claim.amount;
      rule = fmt::format("max/min {:.3g} (claim: <= {:.3g})", ratio, claim.amount);
    } else {
      const double first = values.front(), last = values.back();
      ratio = claim.trend == "rises" ? (first > 0 ? last / first : INFINITY)
                                     : (last > 0 ? first / last : INFINITY);
      held = ratio >= claim.amount;
      rule = fmt::format("{} {:.3g}x (claim: >= {:g}x)",
                         claim.trend == "rises" ? "last/first" : "first/last", ratio, claim.amount);
    }
    std::vector<std::string> shown;
    for (double v : values) shown.push_back(fmt::format("{:.4g}", v));
    return {held, fmt::format("{} {} over {} {:g}: {} {}; {}", claim.left.metric->name,
                              claim.left.model, claim.axis, fmt::join(axis, ", "),
                              fmt::join(shown, ", "), claim.left.metric->display_unit(), rule)};
  }

 private:
  std::vector<Row> rows_;
  std::set<std::string> workloads_;
  const SweepSummary& summary_;
};

Judgement evaluate(const Claim& claim, const Results& results) {
  if (claim.form == Claim::Form::kTrend) return results.trend(claim);
  const Found left = results.point(claim.left);
  if (!left.value) return {std::nullopt, left.what};
  if (claim.form == Claim::Form::kBound) {
    const bool held = compare(*left.value, claim.cmp, claim.value);
    return {held, fmt::format("{} (claim: {} {})", left.what, claim.cmp,
                              figure(claim.value, *claim.left.metric))};
  }
  const Found right = results.point(claim.right);
  if (!right.value) return {std::nullopt, right.what};
  const bool held = compare(*left.value, claim.cmp, claim.factor * *right.value);
  const double quotient = *right.value > 0 ? *left.value / *right.value : INFINITY;
  const std::string ratio = !std::isfinite(quotient) ? "unbounded"
                            : quotient >= 1000       ? fmt::format("{:.0f}x", quotient)
                                                     : fmt::format("{:.3g}x", quotient);
  return {held, fmt::format("{}; {}; ratio {} (claim: {} {:g}x)", left.what, right.what, ratio,
                            claim.cmp, claim.factor)};
}

}  // namespace

void check_claims(const std::vector<std::string>& claims) {
  for (const auto& claim : claims) parse(claim);
}

std::vector<Verdict> evaluate_claims(const std::vector<std::string>& claims, const std::string& csv,
                                     const SweepSummary& summary) {
  std::vector<Verdict> verdicts;
  if (claims.empty()) return verdicts;
  const Results results(csv, summary);
  for (const auto& text : claims) {
    const Claim claim = parse(text);
    auto [held, measured] = evaluate(claim, results);
    verdicts.push_back({text, held, std::move(measured), std::string(claim.left.metric->name)});
  }
  return verdicts;
}

std::string verdict_word(const Verdict& verdict) {
  return !verdict.held ? "not measured" : *verdict.held ? "held" : "did not hold";
}

}  // namespace cmb::harness
