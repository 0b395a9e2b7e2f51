#include "harness/sweep/progress.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "harness/base/files.hpp"
#include "harness/base/subprocess.hpp"
#include "harness/results/claims.hpp"
#include "loadgen/units.hpp"

namespace cmb::harness {

namespace fs = std::filesystem;

namespace {

constexpr double kUnansweredShareShown = 0.05;

// "epoll                  hello              c=64   R=1000   "
std::string point_label(const ResultRow& row) {
  return fmt::format(
      "{:<22} {:<18} c={:<5}{}{}", row.model, row.workload.empty() ? "hello" : row.workload,
      row.connections, row.rate > 0 ? fmt::format(" R={:<7g}", row.rate) : "",
      row.idle_connections > 0 ? fmt::format(" idle={:<6}", row.idle_connections) : "");
}

}  // namespace

void print_progress(std::string_view position, const ResultRow& row, double eta_s) {
  const std::string label = fmt::format("[{}] {}", position, point_label(row));
  if (row.error.empty()) {
    fmt::print("{} {:>10.1f} req/s  p99 {:>9}  errors {}{}\n", label, row.rps,
               loadgen::format_nanos(row.latency_p99_us * 1000), row.errors.total(),
               eta_s >= 0 ? fmt::format("  (ETA {:.0f}s)", eta_s) : "");
    if (!row.warnings.empty()) fmt::print("    warning: {}\n", row.warnings);
  } else {
    fmt::print("{} FAILED: {}\n", label, row.error);
  }
  std::fflush(stdout);
}

size_t print_failures(const std::vector<ResultRow>& rows) {
  const auto failed = static_cast<size_t>(
      std::count_if(rows.begin(), rows.end(), [](const ResultRow& r) { return !r.error.empty(); }));
  if (failed == 0) return 0;
  fmt::print("\n{} of {} points FAILED (their rows are in the CSV with the reason):\n", failed,
             rows.size());
  for (const auto& row : rows)
    if (!row.error.empty())
      fmt::print("  {} rep {}: {}\n", point_label(row), row.repetition, row.error);
  return failed;
}

void print_summary(const SweepConfig& config, const SweepSummary& summary,
                   const std::vector<FoundRate>& searches) {
  fmt::print("\n{:<22} {:>12} {:>12} {:>14}  {}\n", "model", "best req/s", "p99 there",
             fmt::format("knee (p99 {:g} ms)", config.slo_p99_ms),
             "inside the server there: inbound, queued, service, outbound");
  for (const auto& model : config.models) {
    const auto it = std::find_if(summary.models.begin(), summary.models.end(),
                                 [&](const ModelSummary& m) { return m.model == model; });
    if (it == summary.models.end()) {
      fmt::print("{:<22} {:>12}\n", model, "no data");
      continue;
    }
    std::vector<std::string> split;
    for (const double us : it->stages_at_best_us) split.push_back(loadgen::format_nanos(us * 1000));
    // A closed loop always ends with requests in flight: named only when
    // the never answered weigh in the mean over every request sent.
    if (it->unanswered_share_at_best >= kUnansweredShareShown)
      split.push_back(fmt::format(
          "+ {} never answered (mean age {}, {:.0f}% of the mean){}", it->unanswered_at_best,
          loadgen::format_nanos(it->unanswered_age_at_best_us * 1000),
          100 * it->unanswered_share_at_best,
          (it->connections_unanswered_at_best > 0
               ? fmt::format(", {} connections got no response", it->connections_unanswered_at_best)
               : "") +
              (it->waiting_at_best > 0 ? fmt::format(", {} held by the server waiting for a worker",
                                                     it->waiting_at_best)
                                       : "")));
    fmt::print("{:<22} {:>12.1f} {:>12} {:>14}  {}\n", model, it->best_rps,
               loadgen::format_nanos(it->p99_at_best_us * 1000),
               !summary.rate_sweep ? "-"
               : it->knee_rate     ? fmt::format("{:g} req/s", *it->knee_rate)
                                   : "none",
               split.empty() ? "-" : fmt::format("{}", fmt::join(split, "  ")));
  }
  if (searches.empty()) return;
  fmt::print("\nThe highest rate with p99 under {:g} ms (search to {:g} %):\n", config.slo_p99_ms,
             config.search_resolution * 100);
  for (const auto& [key, outcome] : searches)
    fmt::print("  {:<22} {:<18} c={:<5} {}\n", key.model,
               key.workload.empty() ? "hello" : key.workload, key.connections,
               describe_search(outcome));
}

void print_verdicts(const std::vector<Verdict>& verdicts,
                    const std::vector<std::string>& replaced) {
  if (verdicts.empty()) return;
  fmt::print("\nThe scenario's claims, on this machine:\n");
  if (!replaced.empty())
    fmt::print(
        "  (judged on a sweep that {} changed: the claims were written for the scenario's own)\n",
        fmt::join(replaced, ", "));
  int held = 0, failed = 0, unmeasured = 0;
  for (const auto& verdict : verdicts) {
    fmt::print("  {:<13} {}\n  {:<13} {}\n", verdict_word(verdict), verdict.claim, "",
               verdict.measured);
    (!verdict.held ? unmeasured : *verdict.held ? held : failed) += 1;
  }
  fmt::print("{} of {} claims held", held, verdicts.size());
  if (failed > 0)
    fmt::print("; {} did not hold here (a finding about this machine, not an error)", failed);
  if (unmeasured > 0) fmt::print("; {} not measured (the sweep left out their points)", unmeasured);
  fmt::print(".\n");
}

std::vector<std::string> draw_plots(const std::string& csv, const std::string& out_dir,
                                    const std::string& style) {
  if (!chart_python_ready()) {
    fmt::print(stderr, "note: no charts: {}\n", kChartPythonMissing);
    return {};
  }
  const fs::path script = data_dir() / "plots" / "plot_results.py";
  const CommandResult drawn =
      run_command({kChartPython, script.string(), csv, "--out-dir", out_dir, "--style", style},
                  std::chrono::minutes(10));
  if (!drawn.ok()) {
    fmt::print(stderr, "warning: plotting failed: {}\n", drawn.describe({"plot_results.py", csv}));
    return {};
  }
  std::vector<std::string> written;
  std::istringstream lines(drawn.out);
  for (std::string path; std::getline(lines, path);)
    if (!path.empty()) written.push_back(path);
  return written;
}

void print_charts(const SweepConfig& config) {
  const std::string charts = !config.charts_dir.empty()
                                 ? config.charts_dir
                                 : (fs::path("plots/out") / fs::path(config.out).stem()).string();
  const std::vector<std::string> drawn = draw_plots(config.out, charts, config.chart_style);
  for (const auto& chart : drawn) fmt::print("chart: {}\n", chart);
  if (!drawn.empty()) fmt::print("charts: {}\n", charts);
}

}  // namespace cmb::harness
