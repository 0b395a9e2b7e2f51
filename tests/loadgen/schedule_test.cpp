#include "loadgen/schedule.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

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
