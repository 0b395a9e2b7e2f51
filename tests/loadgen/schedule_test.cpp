#include "loadgen/schedule.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

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
