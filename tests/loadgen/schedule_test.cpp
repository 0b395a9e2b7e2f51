#include "loadgen/schedule.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "loadgen/engine.hpp"

namespace cmb::loadgen {
namespace {

using Clock = OpenLoopSchedule::Clock;
using namespace std::chrono_literals;

TEST(OpenLoopSchedule, SplitsTheRateOverConnections) {
  const auto start = Clock::time_point{};
  // 1000 req/s over 4 connections: each sends every 4 ms.
  OpenLoopSchedule s(1000, 4, 0, start, Arrival::kUniform, 1);
  EXPECT_EQ(s.interval(), 4ms);
  EXPECT_EQ(s.take(), start);
  EXPECT_EQ(s.take(), start + 4ms);
  EXPECT_EQ(s.take(), start + 8ms);
}

TEST(OpenLoopSchedule, StaggersConnectionsSoTheyDoNotFireTogether) {
  const auto start = Clock::time_point{};
  for (int i = 0; i < 4; ++i) {
    OpenLoopSchedule s(1000, 4, i, start, Arrival::kUniform, 1);
    EXPECT_EQ(s.next(), start + i * 1ms);
  }
}

// wrk2 computes a per-thread rate in whole requests, so a rate below the
// number of threads becomes zero. Here every connection keeps its share.
TEST(OpenLoopSchedule, HonoursARateBelowTheNumberOfConnections) {
  const auto start = Clock::time_point{};
  const auto end = start + 10s;
  int sends = 0;
  for (int i = 0; i < 8; ++i) {
    OpenLoopSchedule s(2, 8, i, start, Arrival::kUniform, 1);  // 2 req/s over 8 connections
    while (s.next() < end) {
      s.take();
      ++sends;
    }
  }
  EXPECT_EQ(sends, 20);
}

TEST(OpenLoopSchedule, PoissonKeepsTheMeanRate) {
  const auto start = Clock::time_point{};
  OpenLoopSchedule s(1000, 1, 0, start, Arrival::kPoisson, 42);
  int sends = 0;
  while (s.next() < start + 10s) {
    s.take();
    ++sends;
  }
  EXPECT_NEAR(sends, 10000, 300);  // about 3 standard deviations
}

TEST(OpenLoopSchedule, RejectsNonsense) {
  EXPECT_THROW(OpenLoopSchedule(0, 1, 0, {}, Arrival::kUniform, 1), std::invalid_argument);
  EXPECT_THROW(OpenLoopSchedule(10, 2, 2, {}, Arrival::kUniform, 1), std::invalid_argument);
}

TEST(RateProfile, ParsesLinesAndStepsAndRefusesNonsense) {
  EXPECT_EQ(parse_rate_profile("2500").rates, std::vector<double>{2500});
  const RateProfile line = parse_rate_profile("1000:20000");
  EXPECT_TRUE(line.linear);
  EXPECT_EQ(line.rates, (std::vector<double>{1000, 20000}));
  const RateProfile steps = parse_rate_profile("1000,2000,4000");
  EXPECT_FALSE(steps.linear);
  EXPECT_EQ(steps.rates.size(), 3u);
  for (const char* bad : {"", "0", "-5", "fast", "1000:", "1:2:3", "1,2:3", "1e400", "5x"})
    EXPECT_THROW(parse_rate_profile(bad), std::invalid_argument) << bad;
}

TEST(RateProfile, RateAtEachMomentAndItsMean) {
  RateProfile line = parse_rate_profile("1000:3000");
  line.window = 10s;
  EXPECT_EQ(line.at(-1s), 1000);  // warm-up: the first rate
  EXPECT_EQ(line.at(0s), 1000);
  EXPECT_EQ(line.at(5s), 2000);
  EXPECT_EQ(line.at(12s), 3000);
  EXPECT_EQ(line.mean(), 2000);
  RateProfile steps = parse_rate_profile("100,200,400");
  steps.step = 2s;
  steps.window = 7s;  // the last rate holds for its last second
  EXPECT_EQ(steps.at(1999ms), 100);
  EXPECT_EQ(steps.at(2s), 200);
  EXPECT_EQ(steps.at(6500ms), 400);
  EXPECT_DOUBLE_EQ(steps.mean(), (100 * 2 + 200 * 2 + 400 * 3) / 7.0);
  EXPECT_EQ(steps.text(), "100,200,400 every 2s");
  EXPECT_EQ(line.rates_text(), "1000:3000");
}

// Each connection's gaps follow the rate at the send they follow: over a
// stepped ramp, every step holds its own rate to the request.
TEST(OpenLoopSchedule, FollowsARampStepByStep) {
  RateProfile steps = parse_rate_profile("1000,2000,4000");
  steps.step = 1s;
  steps.window = 3s;
  const auto open = Clock::time_point{} + 500ms;  // after a warm-up
  std::vector<int> sent(4, 0);                    // warm-up, then each step
  for (int i = 0; i < 4; ++i) {
    OpenLoopSchedule s(steps, open, 4, i, Clock::time_point{}, Arrival::kUniform, 1);
    for (auto due = s.take(); due < open + 3s; due = s.take())
      ++sent[due < open ? 0 : 1 + static_cast<size_t>((due - open) / 1s)];
  }
  EXPECT_NEAR(sent[0], 500, 4);  // 500 ms at the first rate
  EXPECT_NEAR(sent[1], 1000, 4);
  EXPECT_NEAR(sent[2], 2000, 4);
  EXPECT_NEAR(sent[3], 4000, 4);
}

}  // namespace
}  // namespace cmb::loadgen

// Agents' segments of one load (k6's execution segments): contiguous shares
// that cover the total once and differ by at most one.
TEST(SegmentShare, CoversTheTotalOnceInNearlyEqualParts) {
  for (uint64_t total : {0u, 1u, 5u, 64u, 3001u}) {
    for (int segments : {1, 2, 3, 7}) {
      uint64_t next = 0, smallest = total, largest = 0;
      for (int k = 0; k < segments; ++k) {
        const auto share = cmb::loadgen::segment_share(total, k, segments);
        EXPECT_EQ(share.first, next) << total << " " << k << "/" << segments;
        next += share.count;
        smallest = std::min(smallest, share.count);
        largest = std::max(largest, share.count);
      }
      EXPECT_EQ(next, total) << total << " over " << segments;
      EXPECT_LE(largest - smallest, 1u) << total << " over " << segments;
    }
  }
  EXPECT_EQ(cmb::loadgen::segment_share(5, 0, 2).count, 3u);  // the larger shares first
}
