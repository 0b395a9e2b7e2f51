#include "harness/base/stats.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <utility>

namespace cmb::harness {
namespace {

TEST(Stats, Median) {
  EXPECT_EQ(median({}), 0);
  EXPECT_EQ(median({3, 1, 2}), 2);
  EXPECT_EQ(median({4, 1, 3, 2}), 2.5);
}

// The interval's promise, checked the way it is stated: 1 000 times, draw
// 5 repetitions from a known distribution (a throughput of 10 000 req/s
// with 5 % noise, and a skewed latency); the 95 % interval covers the true
// median in 90-99 % of the draws. (With 5 samples the percentile
// bootstrap's interval is mostly [min, max]: 1 - 2/32 = 93.75 %.)
TEST(Stats, MedianIntervalCoversTheTrueMedian) {
  std::mt19937_64 random(42);
  std::normal_distribution<double> throughput(10'000, 500);
  std::lognormal_distribution<double> latency(std::log(800.0), 0.4);  // median 800
  for (const auto& [draw, truth] :
       {std::pair<std::function<double()>, double>{[&] { return throughput(random); }, 10'000},
        std::pair<std::function<double()>, double>{[&] { return latency(random); }, 800}}) {
    int covered = 0;
    for (int i = 0; i < 1000; ++i) {
      std::vector<double> samples(5);
      for (double& v : samples) v = draw();
      const Interval interval = median_interval(samples, 0.95, 500, static_cast<uint64_t>(i));
      EXPECT_LE(interval.lo, median(samples));
      EXPECT_GE(interval.hi, median(samples));
      covered += interval.contains(truth);
    }
    std::printf("true median %g covered by %d of 1000 intervals\n", truth, covered);
    EXPECT_GE(covered, 900);
    EXPECT_LE(covered, 990);
  }
}

TEST(Stats, MedianIntervalEdgesAndSeed) {
  EXPECT_EQ(median_interval({7}).lo, 7);
  EXPECT_EQ(median_interval({7}).hi, 7);
  const std::vector<double> samples{98, 101, 100, 99, 103};
  EXPECT_EQ(median_interval(samples).lo, median_interval(samples).lo);  // seeded
  EXPECT_EQ(median_interval(samples).hi, median_interval(samples).hi);
  EXPECT_GE(median_interval(samples).lo, 98);
  EXPECT_LE(median_interval(samples).hi, 103);
}

// A build 20 % slower, five repetitions a side with 3 % noise: the change's
// interval excludes 0 and holds -20 %; two draws of one build: it holds 0.
TEST(Stats, ChangeIntervalOfAClearShiftExcludesZero) {
  const std::vector<double> base{10'000, 10'300, 9'800, 10'100, 9'900};
  const std::vector<double> slower{8'000, 8'200, 7'850, 8'100, 7'950};
  const Interval change = change_interval(base, slower);
  EXPECT_LT(change.hi, 0);
  EXPECT_TRUE(change.contains(-0.2));
  EXPECT_TRUE(change_interval(base, {9'900, 10'200, 10'050, 9'850, 10'000}).contains(0));
}

TEST(Stats, TukeyFlagsOnlyWhatLiesOutsideTheFences) {
  // Quartiles of {100, 101, 102, 103, 150} are 101 and 103: fences 98 and 106.
  EXPECT_EQ(tukey_outliers({100, 101, 150, 102, 103}),
            (std::vector<bool>{false, false, true, false, false}));
  EXPECT_EQ(tukey_outliers({100, 101, 102, 103, 104}), std::vector<bool>(5, false));
  EXPECT_EQ(tukey_outliers({1, 100, 1000}), std::vector<bool>(3, false));  // too few to judge
}

}  // namespace
}  // namespace cmb::harness
