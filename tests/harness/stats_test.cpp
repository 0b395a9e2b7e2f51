#include "harness/base/stats.hpp"

#include <gtest/gtest.h>

namespace cmb::harness {
namespace {

TEST(Stats, Median) {
  EXPECT_EQ(median({}), 0);
  EXPECT_EQ(median({3, 1, 2}), 2);
  EXPECT_EQ(median({4, 1, 3, 2}), 2.5);
}

// Known answers from SciPy: scipy.stats.ttest_ind(numpy.log(a),
// numpy.log(b), equal_var=False).pvalue (raw values for the last case).
TEST(Stats, WelchKnownAnswers) {
  EXPECT_NEAR(welch_p({100, 101, 99}, {83, 84, 82}), 4.2328058517911286e-05, 1e-9);
  EXPECT_NEAR(welch_p({100, 101, 99, 98, 102}, {75, 76, 74, 73, 77}), 2.3386021098439534e-08,
              1e-12);
  EXPECT_NEAR(welch_p({100, 130, 70, 120, 80}, {75, 140, 60, 110, 65}), 0.5280509986206919, 1e-9);
  EXPECT_NEAR(welch_p({1, 2, 3}, {4, 5, 6}), 0.07559735281707744, 1e-9);
  EXPECT_NEAR(welch_p({10, 12, 11, 13}, {10.5, 12.5, 9.8}), 0.6065981006942232, 1e-9);
  // A zero among the samples: raw values (ttest_ind([0, 2, 3], [4, 5, 7], equal_var=False)).
  EXPECT_NEAR(welch_p({0, 2, 3}, {4, 5, 7}), 0.042394467148938346, 1e-9);
  EXPECT_NEAR(welch_p({4, 5, 7}, {1, 2, 3}), welch_p({1, 2, 3}, {4, 5, 7}), 1e-15);  // symmetric
}

TEST(Stats, WelchEdgeCases) {
  EXPECT_EQ(welch_p({1, 1, 1}, {1, 1, 1}), 1.0);
  EXPECT_EQ(welch_p({1, 1, 1}, {2, 2, 2}), 0.0);  // no scatter, different means
  EXPECT_EQ(welch_p({}, {1}), 1.0);
  EXPECT_EQ(welch_p({1}, {2, 3}), 1.0);  // one sample: no scatter to judge by
}

}  // namespace
}  // namespace cmb::harness
