#include "harness/stats.hpp"

#include <gtest/gtest.h>

namespace cmb::harness {
namespace {

TEST(Stats, Median) {
  EXPECT_EQ(median({3, 1, 2}), 2);
  EXPECT_EQ(median({4, 1, 3, 2}), 2.5);
  EXPECT_EQ(median({}), 0);
}

// Known answers, checked by enumerating every arrangement of the samples.
TEST(Stats, MannWhitneyExactKnownAnswers) {
  EXPECT_NEAR(mann_whitney_p({1, 2, 3}, {4, 5, 6}), 0.1, 1e-12);                     // 2/20
  EXPECT_NEAR(mann_whitney_p({1, 2, 3, 4, 5}, {6, 7, 8, 9, 10}), 2.0 / 252, 1e-12);  // 0.0079365
  EXPECT_NEAR(mann_whitney_p({6, 7, 8, 9, 10}, {1, 2, 3, 4, 5}), 2.0 / 252, 1e-12);  // symmetric
  // Interleaved samples are no evidence of a difference.
  EXPECT_NEAR(mann_whitney_p({1, 3, 5, 7, 9}, {2, 4, 6, 8, 10}), 0.6904761904761905, 1e-12);
  // U = 1 of 25: 4 of 252 arrangements are as extreme.
  EXPECT_NEAR(mann_whitney_p({1, 2, 3, 4, 6}, {5, 7, 8, 9, 10}), 0.015873015873015872, 1e-12);
}

TEST(Stats, MannWhitneyNormalApproximationWithTies) {
  // U = 1, tie term 42, variance 21.944, z = 2.348 with continuity
  // correction: p = erfc(z / sqrt 2) = 0.018866.
  EXPECT_NEAR(mann_whitney_p({1, 2, 2, 3, 3}, {3, 4, 4, 5, 5}), 0.018866, 1e-5);
  EXPECT_EQ(mann_whitney_p({1, 1, 1}, {1, 1, 1}), 1.0);
  EXPECT_EQ(mann_whitney_p({}, {1}), 1.0);
}

TEST(Stats, SmallestPossibleP) {
  EXPECT_NEAR(smallest_possible_p(3, 3), 0.1, 1e-12);
  EXPECT_NEAR(smallest_possible_p(5, 5), 2.0 / 252, 1e-12);
  EXPECT_EQ(smallest_possible_p(1, 1), 1.0);
}

}  // namespace
}  // namespace cmb::harness
