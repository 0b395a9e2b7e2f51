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
using cmb::harness::SearchSettings;

// A row as a server with this p99 (in ms) at a rate would give it; rate 0
// (the closed-loop probe) answers `capacity` requests/s.
ResultRow row_at(double rate, double capacity, double p99_ms) {
  ResultRow row;
  row.model = "m";
  row.connections = 16;
  row.rate = rate;
  row.rps = rate > 0 ? std::min(rate, capacity) : capacity;
  row.requests = static_cast<uint64_t>(row.rps * 3);
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
  EXPECT_EQ(s.next()->rate, 2250) << "the search starts at half the estimate";
  EXPECT_EQ(s.next()->step, 3);
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

TEST(RateSearch, APointFirstSeenNearTheSloTakesAllThreeSamples) {
  // The second sample falls far below the SLO: the first put the rate near
  // the edge, so the third is still taken and the median of three decides.
  std::vector<double> samples = {102, 6, 150};
  RateSearch s(SearchSettings{.slo_p99_ms = 100, .resolution = 0.05});
  std::vector<ResultRow> rows;
  while (const auto probe = s.next()) {
    double p99 = 1.0;
    if (probe->rate == 2000 && probe->repetition <= 3) p99 = samples[probe->repetition - 1];
    if (probe->rate > 2000) p99 = 2000;
    ResultRow row = row_at(probe->rate, 4000, p99);
    row.repetition = probe->repetition;
    rows.push_back(row);
    s.take(row);
  }
  int at_2000 = 0;
  for (const auto& row : rows) at_2000 += row.rate == 2000;
  EXPECT_EQ(at_2000, 3);
  EXPECT_LT(s.outcome().max_rate, 2000) << "the median, 102 ms, violates";
}

TEST(RateSearch, ErrorsOrAFailedPointViolateTheSlo) {
  RateSearch s(SearchSettings{.slo_p99_ms = 100, .resolution = 0.05});
  bool failed_point = false;
  while (const auto probe = s.next()) {
    ResultRow row = row_at(probe->rate, 4000, 1);
    if (probe->rate > 3000) row.errors.timeout = row.requests / 100;  // 1 % errors
    if (probe->rate > 3500) row.error = "server exited during the point";
    failed_point |= !row.error.empty();
    s.take(row);
  }
  EXPECT_TRUE(failed_point);
  EXPECT_LE(s.outcome().max_rate, 3000);
  EXPECT_GE(s.outcome().max_rate, 3000 * 0.95 - 1);
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
// rate found is near the server's capacity, not the 1/0.9 of it that a
// 90 % share let pass.
TEST(RateSearch, AnOverloadALooseSloLetsThroughShowsInTheShortfall) {
  RateSearch s(SearchSettings{.slo_p99_ms = 100, .resolution = 0.05});
  search(s, 4000, [](double) { return 60.0; });
  const SearchOutcome& found = s.outcome();
  ASSERT_TRUE(found.fail);
  EXPECT_LE(found.max_rate, 4000 / cmb::harness::kKneeServedShare);
  EXPECT_LE(found.max_rate, 1.04 * found.estimate);
  EXPECT_GE(found.max_rate, 0.9 * found.estimate);
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
