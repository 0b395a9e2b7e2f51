// What a sweep tells people as it goes and when it ends: a progress line
// per point, the summary table, and the charts.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "harness/results/claims.hpp"
#include "harness/results/search.hpp"
#include "harness/sweep/config.hpp"

namespace cmb::harness {

// "[3/20] epoll  hello  c=64  201234.5 req/s  p99 1.2ms  errors 0  (ETA 42s)":
// `position` is what goes in the brackets; a negative ETA is left out.
void print_progress(std::string_view position, const ResultRow& row, double eta_s);

// Names each error row of `rows` and why; returns how many there were.
size_t print_failures(const std::vector<ResultRow>& rows);

// Per model: the best throughput and the p99 there; for rate sweeps, the
// knee under the SLO (harness/results/summary.hpp has the rule); then
// what each search found.
void print_summary(const SweepConfig& config, const SweepSummary& summary,
                   const std::vector<FoundRate>& searches = {});

// Each claim of the scenario, its verdict and its figures, then a count. A
// claim that did not hold is said plainly; it is a finding, not a failure.
// `replaced`: the flags that changed what the scenario measures, named
// above the verdicts.
void print_verdicts(const std::vector<Verdict>& verdicts, const std::vector<std::string>& replaced);

// Draws the charts with the Debian interpreter when it has matplotlib;
// returns the paths written.
std::vector<std::string> draw_plots(const std::string& csv, const std::string& out_dir,
                                    const std::string& style);

// Draws the sweep's charts into --charts, or plots/out/ and the CSV's name
// (NAME-TIME) so that no run's charts mix with another's, and names them.
void print_charts(const SweepConfig& config);

}  // namespace cmb::harness
