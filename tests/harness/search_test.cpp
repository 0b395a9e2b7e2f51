// The rate search's decisions, against servers whose answers are made up:
// where it ends, in how many points, what it repeats, and that its rows
// replayed give what it found.
#include "harness/results/search.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

#include "harness/results/summary.hpp"

namespace {

using cmb::harness::describe_search;
using cmb::harness::RateSearch;
using cmb::harness::ResultRow;
using cmb::harness::SearchOutcome;
using cmb::harness::SearchProbe;
using cmb::harness::SearchSettings;

// A row as a server with this p99 (in ms) at a rate would give it; rate 0
// (the closed-loop probe) answers `capacity` requests/s.
ResultRow row_at(double rate, double capacity, double p99_ms) {
  ResultRow row;
  row.model = "m";
  row.connections = 16;
  row.rate = rate;
  row.rps = rate > 0 ? std::min(rate, capacity) : capacity;
  row.duration_s = 3;
  row.requests = static_cast<uint64_t>(row.rps * row.duration_s);
  row.latency_p99_us = p99_ms * 1000;
  return row;
}

// Runs a search against `p99_ms(rate)`, the rows it asked for in order.
std::vector<ResultRow> search(RateSearch& s, double capacity,
                              const std::function<double(double)>& p99_ms) {
  std::vector<ResultRow> rows;
  while (const auto probe = s.next()) {
    EXPECT_LT(rows.size(), 40u) << "a search must end";
    if (rows.size() >= 40) break;
    ResultRow row = row_at(probe->rate, capacity, p99_ms(probe->rate));
    row.repetition = probe->repetition;
    row.search_step = probe->step;
    EXPECT_EQ(probe->step, static_cast<int>(rows.size()));
    s.take(row);
    rows.push_back(row);
  }
  return rows;
}

// A server of capacity 4000 req/s: 1 ms under it, seconds beyond it.
double knee_at_4000(double rate) { return rate <= 4000 ? 1 : 2000; }

TEST(RateSearch, FindsACapacityWithinItsResolutionInAFewPoints) {
  RateSearch s(SearchSettings{.slo_p99_ms = 100, .resolution = 0.05});
  const auto rows = search(s, 4100, knee_at_4000);
  const SearchOutcome& found = s.outcome();
  for (int i = 0; i < cmb::harness::kSearchProbeSamples; ++i)
    EXPECT_EQ(rows[static_cast<size_t>(i)].rate, 0) << "the closed-loop probe comes first";
  EXPECT_DOUBLE_EQ(found.estimate, 4100);
  ASSERT_TRUE(found.fail);
  EXPECT_LE(found.max_rate, 4000);
  EXPECT_GT(*found.fail, 4000);
  EXPECT_LE(*found.fail - found.max_rate, 0.05 * found.max_rate);
  EXPECT_LE(found.points, 12);
  EXPECT_EQ(found.points, static_cast<int>(rows.size()));
  EXPECT_EQ(found.path.size(), rows.size() - cmb::harness::kSearchProbeSamples);
  EXPECT_EQ(found.end, "bracket within 5 %");
  for (const auto& row : rows) EXPECT_EQ(row.rate, std::round(row.rate)) << "whole req/s";
  EXPECT_NE(describe_search(found).find("req/s (bracket"), std::string::npos);
}

TEST(RateSearch, TheEstimateIsTheBestOfThreeProbes) {
  RateSearch s(SearchSettings{});
  for (const double rps : {3700.0, 4500.0, 4400.0}) {
    const auto probe = s.next();
    ASSERT_TRUE(probe);
    EXPECT_EQ(probe->rate, 0);
    s.take(row_at(0, rps, 1));
  }
  EXPECT_DOUBLE_EQ(s.outcome().estimate, 4500) << "a neighbour only slows a sample";
  ASSERT_TRUE(s.next());
  EXPECT_EQ(s.next()->rate, 3600) << "the search starts at 0.8 of the estimate";
  EXPECT_EQ(s.next()->step, 3);
}

// A probe slowed by the machine: its three samples answer 3 600 req/s, a
// server that holds 4 000. The bracket closes above the estimate, so the
// closed loop is measured once more after it, and the estimate is the best
// of the four; a fourth sample that fails leaves the estimate as it was.
TEST(RateSearch, ABracketAboveTheEstimateMeasuresTheClosedLoopAgain) {
  for (const bool fourth_fails : {false, true}) {
    RateSearch s(SearchSettings{.slo_p99_ms = 100, .resolution = 0.05});
    std::vector<SearchProbe> probes;
    while (const auto probe = s.next()) {
      ASSERT_LT(probes.size(), 20u);
      probes.push_back(*probe);
      const bool again = probe->rate == 0 && probe->repetition > cmb::harness::kSearchProbeSamples;
      ResultRow row = row_at(probe->rate, again ? 4100 : 3600, knee_at_4000(probe->rate));
      if (probe->rate > 0) row.rps = std::min(probe->rate, 4000.0);
      if (again && fourth_fails) row.error = "server exited during the point";
      s.take(row);
    }
    const SearchOutcome& found = s.outcome();
    EXPECT_GT(found.max_rate, 3600);
    EXPECT_LE(found.max_rate, 4000);
    ASSERT_GE(probes.size(), 5u);
    EXPECT_EQ(probes.back().rate, 0) << "the closed loop again, last";
    EXPECT_EQ(probes.back().repetition, cmb::harness::kSearchProbeSamples + 1);
    EXPECT_EQ(std::count_if(probes.begin(), probes.end(),
                            [](const SearchProbe& p) { return p.rate == 0; }),
              cmb::harness::kSearchProbeSamples + 1);
    EXPECT_EQ(found.points, static_cast<int>(probes.size()));
    EXPECT_DOUBLE_EQ(found.estimate, fourth_fails ? 3600 : 4100);
    EXPECT_EQ(found.end, "bracket within 5 %");
  }
}

// A server whose capacity is its estimate (answering whatever it is
// offered up to it, seconds of p99 beyond): the bracket holds the capacity
// with room on both sides, and no rate is measured within 1 % of it, where
// a verdict is a coin toss.
TEST(RateSearch, TheBracketHoldsACapacityAtTheEstimateWithRoomOnBothSides) {
  for (const double estimate : {4719.5, 4716.0, 4733.0, 1000.0, 191.0}) {
    RateSearch s(SearchSettings{.slo_p99_ms = 100, .resolution = 0.05});
    const auto rows = search(s, estimate, [&](double rate) { return rate <= estimate ? 5 : 2000; });
    for (const auto& row : rows) {
      if (row.rate == 0) continue;  // the probe
      EXPECT_GT(std::abs(row.rate - estimate), 0.01 * estimate) << row.rate;
    }
    const SearchOutcome& found = s.outcome();
    ASSERT_TRUE(found.fail) << estimate;
    EXPECT_LE(found.max_rate, 0.99 * estimate) << estimate;
    EXPECT_GE(*found.fail, 1.01 * estimate) << estimate;
    EXPECT_LE(*found.fail - found.max_rate, 0.05 * found.max_rate + 1) << estimate;
    EXPECT_LE(found.points, 10) << estimate;
  }
}

TEST(RateSearch, ShrinksWhenEvenHalfTheEstimateViolates) {
  // A tight SLO: only rates up to 300 hold it, far below the estimate.
  RateSearch s(SearchSettings{.slo_p99_ms = 2, .resolution = 0.05});
  search(s, 4000, [](double rate) { return rate <= 300 ? 1 : 10; });
  EXPECT_LE(s.outcome().max_rate, 300);
  EXPECT_GT(s.outcome().max_rate, 300 * 0.95 - 1);
  EXPECT_LE(s.outcome().points, cmb::harness::kSearchMaxPoints);
}

TEST(RateSearch, ANarrowerResolutionTakesMorePoints) {
  RateSearch coarse(SearchSettings{.slo_p99_ms = 100, .resolution = 0.10});
  RateSearch fine(SearchSettings{.slo_p99_ms = 100, .resolution = 0.01});
  search(coarse, 4100, knee_at_4000);
  search(fine, 4100, knee_at_4000);
  EXPECT_GT(fine.outcome().points, coarse.outcome().points);
  EXPECT_LE(*fine.outcome().fail - fine.outcome().max_rate, 0.01 * fine.outcome().max_rate + 1);
}

TEST(RateSearch, APointNearTheSloIsMeasuredThreeTimesAndTheMedianDecides) {
  // p99 95 ms at every rate up to 4000: within 10 % of a 100 ms SLO. The
  // samples of one rate alternate 94, 120, 96: the median (96) holds.
  int sample = 0;
  RateSearch s(SearchSettings{.slo_p99_ms = 100, .resolution = 0.05});
  const auto rows = search(s, 4100, [&](double rate) {
    if (rate == 0 || rate > 4000) return 2000.0;
    const double values[] = {94, 120, 96};
    return values[sample++ % 3];
  });
  int repeated = 0;
  for (const auto& row : rows)
    if (row.repetition == 3) ++repeated;
  EXPECT_GT(repeated, 0);
  for (const auto& row : rows) EXPECT_LE(row.repetition, 3);
  // Every rate up to 4000 held on its median, so the search still ends there.
  EXPECT_LE(s.outcome().max_rate, 4000);
  EXPECT_GE(s.outcome().max_rate, 4000 * 0.95 - 1);
}

// A search against a server of estimate 4000 whose first rate gives these
// p99 samples (ms) in turn, rates below it 1 ms and above it 2 s: how
// often the first rate was measured, and whether it held.
struct FirstRate {
  int samples = 0;
  bool held = false;
};
FirstRate search_with_first_rate(const std::vector<double>& p99s) {
  RateSearch s(SearchSettings{.slo_p99_ms = 100, .resolution = 0.05});
  const double first = std::floor(4000 * cmb::harness::kSearchStart);
  FirstRate found;
  while (const auto probe = s.next()) {
    double p99 = probe->rate > first ? 2000 : 1.0;
    if (probe->rate == first) p99 = p99s.at(static_cast<size_t>(probe->repetition - 1));
    found.samples += probe->rate == first;
    ResultRow row = row_at(probe->rate, 4000, p99);
    row.repetition = probe->repetition;
    s.take(row);
  }
  found.held = s.outcome().max_rate >= first;
  return found;
}

TEST(RateSearch, APointFirstSeenNearTheSloTakesAllThreeSamples) {
  // The second sample falls far below the SLO: the first put the rate near
  // the edge, so the third is still taken and the median of three decides.
  const FirstRate found = search_with_first_rate({102, 6, 150});
  EXPECT_EQ(found.samples, 3);
  EXPECT_FALSE(found.held) << "the median, 102 ms, violates";
}

// Two samples near the edge that agree decide: the median of three is
// then known.
TEST(RateSearch, TwoSamplesThatAgreeDecideAPointNearTheSlo) {
  for (const auto& [p99s, holds] :
       std::vector<std::pair<std::vector<double>, bool>>{{{102, 130}, false}, {{95, 60}, true}}) {
    const FirstRate found = search_with_first_rate(p99s);
    EXPECT_EQ(found.samples, 2) << p99s[0] << ", " << p99s[1];
    EXPECT_EQ(found.held, holds) << p99s[0] << ", " << p99s[1];
  }
}

// A sample a little short of the rate at a rate below capacity (a stall
// of the machine) is measured again, and the next two keep it; one further
// short than a stall within the SLO leaves is not: under a 100 ms SLO, in
// 3 s windows, 3.3 % of the rate.
TEST(RateSearch, ASampleALittleShortOfTheRateIsMeasuredAgain) {
  for (const auto& [share, samples] :
       std::vector<std::pair<double, int>>{{0.98, 3}, {0.97, 3}, {0.96, 1}, {0.9, 1}}) {
    RateSearch s(SearchSettings{.slo_p99_ms = 100, .resolution = 0.05});
    const double first = std::floor(4000 * cmb::harness::kSearchStart);
    int at_first = 0;
    while (const auto probe = s.next()) {
      ResultRow row = row_at(probe->rate, 4000, probe->rate > 4000 ? 2000 : 1);
      if (probe->rate == first && probe->repetition == 1) row.rps = share * probe->rate;
      at_first += probe->rate == first;
      s.take(row);
    }
    EXPECT_EQ(at_first, samples) << share;
    EXPECT_EQ(s.outcome().max_rate >= first, samples == 3) << share;
  }
}

TEST(RateSearch, ErrorsOrAFailedPointViolateTheSlo) {
  RateSearch s(SearchSettings{.slo_p99_ms = 100, .resolution = 0.05});
  bool failed_point = false;
  while (const auto probe = s.next()) {
    ResultRow row = row_at(probe->rate, 4000, 1);
    if (probe->rate > 2000) row.errors.timeout = row.requests / 100;  // 1 % errors
    if (probe->rate > 3000) row.error = "server exited during the point";
    failed_point |= !row.error.empty();
    s.take(row);
  }
  EXPECT_TRUE(failed_point);
  EXPECT_LE(s.outcome().max_rate, 2000);
  EXPECT_GE(s.outcome().max_rate, 2000 * 0.95 - 1);
}

TEST(RateSearch, AProbeThatFailsEndsTheSearch) {
  RateSearch s(SearchSettings{});
  ResultRow row = row_at(0, 0, 0);
  row.error = "cannot start: port in use";
  s.take(row);
  EXPECT_FALSE(s.next());
  EXPECT_EQ(s.outcome().max_rate, 0);
  EXPECT_NE(s.outcome().end.find("port in use"), std::string::npos);
  EXPECT_NE(describe_search(s.outcome()).find("none"), std::string::npos);
}

TEST(RateSearch, EndsWhenNothingHoldsOrNothingViolates) {
  RateSearch never_holds(SearchSettings{.slo_p99_ms = 1});
  search(never_holds, 4000, [](double) { return 50.0; });
  EXPECT_EQ(never_holds.outcome().max_rate, 0);
  EXPECT_NE(never_holds.outcome().end.find("no rate held the SLO"), std::string::npos);
  EXPECT_LE(never_holds.outcome().points, 10) << "the probe, then shrinking to 1/16 of it";

  // A server that answers any rate offered at once.
  RateSearch always_holds(SearchSettings{.slo_p99_ms = 100});
  while (const auto probe = always_holds.next()) {
    ResultRow row = row_at(probe->rate, 4000, 1);
    if (probe->rate > 0) row.rps = probe->rate;
    always_holds.take(row);
  }
  EXPECT_FALSE(always_holds.outcome().fail);
  EXPECT_NE(always_holds.outcome().end.find("never violated"), std::string::npos);
  EXPECT_LE(always_holds.outcome().points, cmb::harness::kSearchMaxPoints);
}

TEST(RateSearch, ItsRowsReplayedFindWhatItFound) {
  std::mt19937 random(7);
  std::uniform_real_distribution<double> noise(0.8, 1.2);
  RateSearch s(SearchSettings{.slo_p99_ms = 25, .resolution = 0.05});
  auto rows = search(s, 5000, [&](double rate) { return rate <= 3500 ? 20 * noise(random) : 300; });
  // Another search's rows in between, and a step written twice: each
  // search is its own, in step order.
  ResultRow other = row_at(0, 100, 1);
  other.model = "other";
  other.search_step = 0;
  rows.insert(rows.begin() + 2, other);
  rows.push_back(rows[3]);
  const auto found = cmb::harness::replay_searches(rows, {.slo_p99_ms = 25, .resolution = 0.05});
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].key.model, "m");
  EXPECT_EQ(found[0].key.rate, 0);
  EXPECT_EQ(found[0].outcome.max_rate, s.outcome().max_rate);
  EXPECT_EQ(found[0].outcome.fail, s.outcome().fail);
  EXPECT_EQ(found[0].outcome.points, s.outcome().points);
  EXPECT_EQ(found[1].key.model, "other");
  EXPECT_EQ(found[1].outcome.points, 1);
  // Rows of a search with other settings part from this one's path: the
  // replay stops there rather than take them for what they are not.
  const auto other_slo = cmb::harness::replay_searches(rows, {.slo_p99_ms = 400});
  EXPECT_LT(other_slo[0].outcome.points, s.outcome().points);
  EXPECT_EQ(other_slo[0].outcome.end, "");
}

TEST(RateSearch, ARateServedShortOfWhatWasOfferedViolatesTheSlo) {
  // Fine latencies, but from 3000 req/s on only 80 % of the rate is
  // answered: connections left unserved answer nothing, so only the
  // shortfall shows it.
  RateSearch s(SearchSettings{.slo_p99_ms = 100, .resolution = 0.05});
  while (const auto probe = s.next()) {
    ResultRow row = row_at(probe->rate, 1e9, 1);
    row.rps = probe->rate == 0 ? 4000 : probe->rate >= 3000 ? 0.8 * probe->rate : probe->rate;
    s.take(row);
  }
  EXPECT_LT(s.outcome().max_rate, 3000);
  EXPECT_GE(s.outcome().max_rate, 3000 * 0.95 - 1);
}

// A loose SLO lets a small overload through a short window: its queue
// grows, but not to the SLO (here p99 stays at 60 ms whatever the rate).
// What the server answers short of the offered rate gives it away, so the
// rate found is near the server's capacity, not the 1/0.97 of it that a
// 97 % share let pass.
TEST(RateSearch, AnOverloadALooseSloLetsThroughShowsInTheShortfall) {
  RateSearch s(SearchSettings{.slo_p99_ms = 100, .resolution = 0.05});
  search(s, 4000, [](double) { return 60.0; });
  const SearchOutcome& found = s.outcome();
  ASSERT_TRUE(found.fail);
  EXPECT_LE(found.max_rate, 4000 / cmb::harness::kKneeServedShare);
  EXPECT_LE(found.max_rate, 1.01 * found.estimate);
  EXPECT_GE(found.max_rate, 0.9 * found.estimate);
}

// At a low rate the requests in flight at the window's edges are a large
// share of it: 18 of 20 answered in 2 s is a rate kept, 17 is not; at
// 4 000 req/s the same window must answer 99.5 % of 8 000, less the two.
TEST(HoldsSlo, AllowsTheTwoRequestsAtTheWindowsEdges) {
  const auto holds = [](double rate, double answered) {
    ResultRow row = row_at(rate, rate, 1);
    row.duration_s = 2;
    row.rps = answered / row.duration_s;
    return cmb::harness::holds_slo({&row}, 10);
  };
  EXPECT_TRUE(holds(10, 20));
  EXPECT_TRUE(holds(10, 18));
  EXPECT_FALSE(holds(10, 17));
  EXPECT_TRUE(holds(4000, 8000 * 0.995 - 1.5));
  EXPECT_FALSE(holds(4000, 8000 * 0.995 - 2.5));
  EXPECT_FALSE(holds(4000, 8000 * 0.99)) << "1 % short: the queue grew";
}

TEST(RateSearch, TheSearchAndTheKneeShareOneRule) {
  // The rows of a search hold the SLO by the knee's rule: summarize's knee
  // over them is the rate the search found.
  RateSearch s(SearchSettings{.slo_p99_ms = 100, .resolution = 0.05});
  const auto rows = search(s, 4100, knee_at_4000);
  const auto summary = cmb::harness::summarize(rows, {"m"}, 100);
  ASSERT_EQ(summary.models.size(), 1u);
  ASSERT_TRUE(summary.models[0].knee_rate);
  EXPECT_EQ(*summary.models[0].knee_rate, s.outcome().max_rate);
}

}  // namespace
