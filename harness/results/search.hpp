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

// A point near the edge is measured up to this many times, and the
// median decides: near the edge one sample is a coin toss. Near the edge:
// its first sample's p99 within kSearchEdge of the SLO, or its requests/s
// short of the rate, that alone breaking the rule, by no more than a stall
// of the machine could leave unanswered while p99 held: a stall longer
// than the SLO would have delayed its requests past it, so it leaves at
// most the SLO's worth of the rate unanswered, a share SLO / window (at
// least kSearchShortEdge). Stalls of a shared machine at rates well below
// capacity left 1.8 % of 3 537 req/s and 2.9 % of 3 743 unanswered in 2 s
// windows, at p99s of 30-60 ms, under a 100 ms SLO; the next samples would
// have kept both. A server that never answers some connections falls
// further short and is not measured again. The median of three is known
// once two samples agree, so a third is measured only when they do not.
inline constexpr double kSearchEdge = 0.10;
inline constexpr double kSearchShortEdge = 0.025;
inline constexpr int kSearchEdgeSamples = 3;
// The closed-loop probe is measured this many times, its best the
// estimate: a neighbour on a shared machine only takes throughput away
// (one 3 s sample was 18 % below the next run's), so the best sample is
// the nearest to the server's capacity, and the estimate sets where the
// search starts and what its found rate is judged against.
// When the bracket closes above the estimate (an open loop held more than
// the closed loop answered), the probe was slowed, not the server: the
// closed loop is measured once more, after the search, and the estimate
// is the best of all its samples. On the 2-core VM the probe's three
// samples came out 2-3 % under the search's rate in two rounds of five,
// each while a grid run just after answered the rate found.
inline constexpr int kSearchProbeSamples = 3;
// The first rate is kSearchStart of the estimate. While the SLO holds the
// rate grows by kSearchGrowth, while it does not it shrinks by
// kSearchShrink. Growth is small: with one request in flight per
// connection in both loops, an open loop cannot answer much more than the
// closed loop did, so a loose SLO's rate is near the estimate. A server
// whose capacity is its estimate is bracketed by [0.92, 1.058] of it in
// three points, and by [0.989, 1.024] after two bisections: no rate is
// measured within 1 % of the estimate, where a verdict is a coin toss and
// the bracket's end would sit on the capacity itself (a grid run a moment
// later then finds its knee on either side of it). Below, a tight SLO's
// rate may be anywhere, so the steps down are larger. Rates are whole
// req/s, rounded down as the rate grows.
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
