// The claims a scenario makes about its own results, written as data (its
// `claims` list), and their verdicts on a run. One claim per string:
//
//   METRIC MODEL [at SEL,...] CMP VALUE              a bound
//   METRIC MODEL [at SEL,...] CMP K x METRIC MODEL [at SEL,...]
//                                                    a ratio between points
//   METRIC MODEL [at SEL,...] flat over AXIS within P%   max / min <= 1 + P/100
//   METRIC MODEL [at SEL,...] rises over AXIS by Kx      last / first >= K
//   METRIC MODEL [at SEL,...] falls over AXIS by Kx      first / last >= K
//                     (a trend's SEL picks one line: never its own AXIS)
//   knee MODEL CMP VALUE                             the SLO knee (rate sweeps)
//
// METRIC: rps, p50, p90, p99, p999 (latency), duration (of a point), threads,
// rss (peak), cpu (server CPU per request), errors, imbalance (the busiest
// accepting thread's connections over the mean), inbound, queued, service,
// outbound (a stage's mean inside the server), unaccounted (the client's
// mean less the four). MODEL: as the sweep names
// it ("thread-pool:32"). SEL: connections=N, rate=N, idle_connections=N or
// workload=Q, where N may be min or max (of what that model measured).
// AXIS: connections, rate or idle_connections. CMP: >=, <=, >, <. VALUE: a number, with a unit
// where the metric has one (25ms, 500us, 2s, 64MiB). Repetitions count by their median.
//
// A claim that does not hold is a finding, not an error; one whose points
// the sweep left out is `not measured`.
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
