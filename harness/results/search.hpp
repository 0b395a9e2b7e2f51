// The search for the highest rate a server sustains under an SLO
// (`run --search rate`): which rate to measure next, given the points
// measured so far, and what they found. Pure: the sweep measures, this
// decides, and the same rows replayed give the same answer (the manifest's
// figures after a --resume are the live search's).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "harness/results/row.hpp"

namespace cmb::harness {

struct SearchSettings {
  double slo_p99_ms = 10;
  // The search ends when its bracket [pass, fail] is this narrow, as a
  // share of `pass`.
  double resolution = 0.05;
};

// A point near the edge is measured up to kSearchEdgeSamples times and
// the median decides (two that agree decide at once): one sample there is
// a coin toss. Near the edge: p99 within kSearchEdge of the SLO, or short
// of the rate by no more than a stall of the machine leaves unanswered
// while p99 holds, the SLO's worth of the window (at least
// kSearchShortEdge). The measurements behind these are in
// docs/scenarios.md, "Finding the highest rate".
inline constexpr double kSearchEdge = 0.10;
inline constexpr double kSearchShortEdge = 0.025;
inline constexpr int kSearchEdgeSamples = 3;
// The closed-loop probe is measured this many times and its best is the
// estimate: a neighbour only takes throughput away. When the bracket
// closes above the estimate the probe was slowed, not the server: the
// closed loop is measured once more and the estimate is the best of all.
inline constexpr int kSearchProbeSamples = 3;
// The first rate is kSearchStart of the estimate. While the SLO holds the
// rate grows by kSearchGrowth, while it does not it shrinks by
// kSearchShrink. Growth is small: with one request in flight per
// connection in both loops, an open loop cannot answer much more than the
// closed loop did. The steps keep every rate measured more than 1 % from
// the estimate, where a verdict would be a coin toss (docs/scenarios.md
// works the brackets out). Rates are whole req/s, rounded down as the rate
// grows.
inline constexpr double kSearchStart = 0.8;
inline constexpr double kSearchGrowth = 1.15;
inline constexpr double kSearchShrink = 1.5;
// Bounds, so that a search always ends: points in all, how far above the
// closed-loop estimate the rate may grow before the search says the SLO
// was never violated (an open loop held to four times what the same
// connections answered in a closed loop says the probe went wrong), and
// how far below it the rate may shrink before it says nothing held.
inline constexpr int kSearchMaxPoints = 20;
inline constexpr double kSearchMaxGrowth = 4;
inline constexpr double kSearchMaxShrink = 16;

// What to measure next: `rate` 0 is the closed-loop probe (the first
// estimate); `repetition` counts the samples of that rate, from 1.
struct SearchProbe {
  double rate = 0;
  int repetition = 1;
  int step = 0;  // the point's place in the search, from 0: its search_step
};

struct SearchOutcome {
  double estimate = 0;         // the closed-loop probe's requests/s (best sample, the last too)
  double max_rate = 0;         // the highest rate that held the SLO; 0: none did
  std::optional<double> fail;  // the lowest rate above it that did not; none: never failed
  int points = 0;              // rows measured, the probe and repeats included
  std::string end;             // why it ended, in words; empty while it goes on
  std::vector<double> path;    // the rates measured after the probe, in order
};

// One search: one model at one workload, connection count and idle count.
// The probe's best rps gives the estimate; the rate starts at kSearchStart
// of it and grows by kSearchGrowth while the SLO holds (shrinks by
// kSearchShrink while it does not), then bisects the bracket until it is
// within the resolution (and measures the closed loop again when the
// bracket is above the estimate). Rates are whole requests/s, so that a CSV holds
// them exactly and --resume finds them.
class RateSearch {
 public:
  explicit RateSearch(SearchSettings settings);

  // The point to measure next; none when the search has ended.
  std::optional<SearchProbe> next() const;
  // The row measured for next() (or found in the CSV for it).
  void take(const ResultRow& row);
  const SearchOutcome& outcome() const { return outcome_; }

 private:
  // Whether a rate whose first sample this is needs more (kSearchEdge,
  // kSearchShortEdge).
  bool near_edge(const ResultRow& first) const;
  // The rate's samples so far decide it: true held, false did not,
  // nothing yet (near the edge, more samples are due).
  std::optional<bool> judge() const;
  void decide(bool held);
  void end(std::string why);
  void end_bracketed();  // the bracket is within the resolution

  SearchSettings settings_;
  SearchOutcome outcome_;
  bool probed_ = false;
  bool reprobing_ = false;  // the bracket closed above the estimate: the closed loop again
  std::vector<double> probe_rps_;
  std::optional<double> pass_;
  double rate_ = 0;                 // the rate being measured
  std::vector<ResultRow> samples_;  // its samples so far
};

// Every search in a results CSV's rows (those with a search_step),
// replayed: one per model, workload, connection count and idle count, in
// the order of their first rows. A row whose rate is not the one the
// search would ask for next (a search with other settings) ends the
// replay: that search is "not finished".
struct FoundRate {
  PointKey key;  // its rate 0
  SearchOutcome outcome;
};
std::vector<FoundRate> replay_searches(const std::vector<ResultRow>& rows,
                                       const SearchSettings& settings);

// "4120 req/s (bracket 4080-4290, 8 points)", or why none was found.
std::string describe_search(const SearchOutcome& outcome);

}  // namespace cmb::harness
