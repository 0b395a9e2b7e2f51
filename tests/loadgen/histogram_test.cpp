#include "loadgen/histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace cmb::loadgen {
namespace {

uint64_t exact_percentile(const std::vector<uint64_t>& sorted, double p) {
  const double exact = p / 100.0 * static_cast<double>(sorted.size());
  const size_t rank = std::max<size_t>(1, static_cast<size_t>(std::ceil(exact - 1e-9)));
  return sorted[rank - 1];
}

TEST(LatencyHistogram, PercentilesWithinOnePercentOfExactSort) {
  std::mt19937_64 random(42);
  // Log-uniform from 1 us to 10 s: every magnitude a latency can take.
  std::uniform_real_distribution<double> exponent(3.0, 10.0);
  std::vector<uint64_t> samples;
  LatencyHistogram histogram;
  for (int i = 0; i < 100'000; ++i) {
    const auto value = static_cast<uint64_t>(std::pow(10.0, exponent(random)));
    samples.push_back(value);
    histogram.record(value);
  }
  std::sort(samples.begin(), samples.end());
  for (double p : {1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    const double exact = static_cast<double>(exact_percentile(samples, p));
    const double reported = static_cast<double>(histogram.percentile(p));
    EXPECT_LE(std::abs(reported - exact) / exact, 0.01) << "p" << p;
  }
  EXPECT_EQ(histogram.count(), 100'000u);
  EXPECT_EQ(histogram.min(), samples.front());
  EXPECT_EQ(histogram.max(), samples.back());
  double sum = 0;
  for (uint64_t v : samples) sum += static_cast<double>(v);
  EXPECT_NEAR(histogram.mean(), sum / 1e5, 1.0);
}

TEST(LatencyHistogram, SmallValuesAreExact) {
  LatencyHistogram histogram;
  for (uint64_t v = 0; v < 256; ++v) histogram.record(v);
  EXPECT_EQ(histogram.percentile(50), 127u);
  EXPECT_EQ(histogram.percentile(100), 255u);
}

TEST(LatencyHistogram, BucketsTileTheRange) {
  for (size_t i = 1; i < LatencyHistogram::kBuckets; ++i) {
    ASSERT_EQ(LatencyHistogram::bucket_low(i),
              LatencyHistogram::bucket_low(i - 1) + LatencyHistogram::bucket_width(i - 1))
        << i;
    ASSERT_EQ(LatencyHistogram::bucket_index(LatencyHistogram::bucket_low(i)), i);
  }
  EXPECT_EQ(LatencyHistogram::bucket_index(LatencyHistogram::kMaxValue),
            LatencyHistogram::kBuckets - 1);
}

TEST(LatencyHistogram, MergeEqualsRecordingEverythingInOne) {
  std::mt19937_64 random(7);
  std::lognormal_distribution<double> latency(13.0, 1.5);
  LatencyHistogram parts[4];
  LatencyHistogram whole;
  for (int i = 0; i < 40'000; ++i) {
    const auto value = static_cast<uint64_t>(latency(random));
    parts[i % 4].record(value);
    whole.record(value);
  }
  LatencyHistogram merged;
  for (const auto& part : parts) merged.merge(part);
  EXPECT_EQ(merged.count(), whole.count());
  EXPECT_EQ(merged.min(), whole.min());
  EXPECT_EQ(merged.max(), whole.max());
  EXPECT_DOUBLE_EQ(merged.mean(), whole.mean());
  for (size_t i = 0; i < LatencyHistogram::kBuckets; ++i)
    ASSERT_EQ(merged.bucket_count(i), whole.bucket_count(i));
  for (double p : {50.0, 99.0, 99.9, 99.999}) EXPECT_EQ(merged.percentile(p), whole.percentile(p));
}

TEST(LatencyHistogram, EmptyReportsZero) {
  LatencyHistogram histogram;
  EXPECT_EQ(histogram.percentile(99), 0u);
  EXPECT_EQ(histogram.min(), 0u);
  EXPECT_EQ(histogram.mean(), 0.0);
}

}  // namespace
}  // namespace cmb::loadgen
