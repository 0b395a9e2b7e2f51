// The steady-state rule: Mann-Kendall's trend test on the window's slices
// (harness/base/stats.hpp), and the `steady` verdict made of it
// (harness/results/steady.hpp).
#include "harness/results/steady.hpp"

#include <gtest/gtest.h>

#include <random>

#include "harness/base/stats.hpp"

namespace cmb::harness {
namespace {

TEST(Steady, MannKendallFindsARampAndItsSize) {
  std::vector<double> ramp;
  for (int i = 1; i <= 10; ++i) ramp.push_back(i);
  const Trend up = mann_kendall(ramp);
  // S = 45, variance 10 * 9 * 25 / 18 = 125: z = 44 / sqrt(125) = 3.94.
  EXPECT_NEAR(up.p, 8.3e-5, 0.2e-5);
  EXPECT_NEAR(up.change, (9 - 2) / 5.5, 1e-9);  // thirds {1,2,3} and {8,9,10}, median 5.5
  const Trend down = mann_kendall({10, 9, 8, 7, 6, 5, 4, 3, 2, 1});
  EXPECT_NEAR(down.p, up.p, 1e-12);
  EXPECT_LT(down.change, 0);
}

TEST(Steady, MannKendallEdgeCases) {
  EXPECT_EQ(mann_kendall({1, 2, 3, 4}).p, 1);        // too few
  EXPECT_EQ(mann_kendall({5, 5, 5, 5, 5, 5}).p, 1);  // all ties
  EXPECT_EQ(mann_kendall({5, 5, 5, 5, 5, 5}).change, 0);
  EXPECT_EQ(mann_kendall({0, 0, 0, 0, 1, 0}).change, 0);  // median 0
}

// A steady rate with noise is "yes" in at least 97 of 100 draws (the
// test's 5 % and the 10 % size bar, both needed); a rate that ramps up by
// half is "no" every time, and one that steps from slow to fast a third of
// the way in almost every time (96 of these 100: a step is not the
// monotonic trend Mann-Kendall is made for).
TEST(Steady, NoiseIsSteadyARampOrAStepIsNot) {
  std::mt19937_64 random(7);
  std::normal_distribution<double> noise(0, 40);  // 1 000 a slice, 4 %
  const auto draw = [&](auto rate) {
    std::vector<uint64_t> slices;
    for (size_t i = 0; i < 20; ++i)
      slices.push_back(static_cast<uint64_t>(std::max(0.0, rate(i) + noise(random))));
    return slices;
  };
  int steady = 0, ramps = 0, steps = 0;
  for (int i = 0; i < 100; ++i) {
    steady += steady_of(draw([](size_t) { return 1000.0; })) == "yes";
    ramps +=
        steady_of(draw([](size_t s) { return 800.0 + 20.0 * static_cast<double>(s); })) == "no";
    steps += steady_of(draw([](size_t s) { return s < 7 ? 500.0 : 1000.0; })) == "no";
  }
  EXPECT_GE(steady, 97);
  EXPECT_EQ(ramps, 100);
  EXPECT_GE(steps, 90);
}

TEST(Steady, OnePauseOrTooFewResponsesIsNotATrend) {
  std::vector<uint64_t> paused(20, 1000);
  paused[12] = 0;  // one stalled slice
  EXPECT_EQ(steady_of(paused), "yes");
  EXPECT_EQ(steady_of(std::vector<uint64_t>(20, 4)), "");  // 80 responses
  EXPECT_EQ(steady_of({}), "");
}

}  // namespace
}  // namespace cmb::harness

namespace {

// --warmup auto's rule on a warm-up's last seconds.
TEST(Settled, AWarmUpSettlesWhenItsLastSecondsNeitherTrendNorStep) {
  using cmb::harness::settled;
  EXPECT_FALSE(settled({1000, 1000, 1000, 1000})) << "too few seconds to tell";
  EXPECT_TRUE(settled({1000, 1030, 980, 1010, 995}));
  EXPECT_FALSE(settled({500, 800, 1800, 3000, 3000})) << "climbing";
  EXPECT_FALSE(settled({800, 3000, 3000, 3000, 3000})) << "a step, too late for a trend test";
  EXPECT_TRUE(settled({500, 800, 1800, 3000, 3000, 3050, 2980, 3010, 3000}))
      << "only the last five count";
  EXPECT_FALSE(settled({3000, 2800, 2600, 2400, 2200})) << "falling as surely";
  // Noise alone: 1 000 warm-ups of five seconds with 4 % noise mostly settle.
  std::mt19937 random(3);
  std::normal_distribution<double> noise(1000, 40);
  int settled_count = 0;
  for (int i = 0; i < 1000; ++i)
    settled_count +=
        settled({noise(random), noise(random), noise(random), noise(random), noise(random)});
  EXPECT_GE(settled_count, 900);
}

}  // namespace
