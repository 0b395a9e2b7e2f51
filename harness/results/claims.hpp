// The claims a scenario makes about its own results, written as data (its
// `claims` list), and their verdicts on a run: a bound, a ratio between two
// points, a trend over an axis, or a knee (the language: docs/scenarios.md,
// "Claims: the expected shape as data"; its metrics: harness/results/metrics.cpp). A claim that
// does not hold is a finding, not an error; one whose points the sweep
// left out is `not measured`.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "harness/results/summary.hpp"

namespace cmb::harness {

// A scenario's claim judged on a run.
struct Verdict {
  std::string claim;
  std::optional<bool> held;  // std::nullopt: not measured
  std::string measured;      // the figures behind the verdict, or why there are none
  std::string metric;        // what the claim is about ("rps"): the metrics table's name
};

// Throws std::invalid_argument naming the claim and what is wrong with it.
void check_claims(const std::vector<std::string>& claims);

// Each claim against the results CSV at `csv` (and the summary's knees).
std::vector<Verdict> evaluate_claims(const std::vector<std::string>& claims, const std::string& csv,
                                     const SweepSummary& summary);

// "held", "did not hold" or "not measured".
std::string verdict_word(const Verdict& verdict);

}  // namespace cmb::harness
