#include "loadgen/hist_file.hpp"

#include <gtest/gtest.h>

#include <random>
#include <stdexcept>

namespace cmb::loadgen {
namespace {

LatencyHistogram random_histogram(uint64_t seed, int samples) {
  std::mt19937_64 random(seed);
  std::lognormal_distribution<double> latency(13.0, 1.2);
  LatencyHistogram h;
  for (int i = 0; i < samples; ++i) h.record(static_cast<uint64_t>(latency(random)));
  return h;
}

TEST(HistogramFile, RoundTripsExactly) {
  const LatencyHistogram h = random_histogram(1, 50'000);
  const LatencyHistogram back = parse_histogram_file(format_histogram_file(h));
  EXPECT_EQ(back.count(), h.count());
  EXPECT_EQ(back.sum(), h.sum());
  EXPECT_EQ(back.min(), h.min());
  EXPECT_EQ(back.max(), h.max());
  for (size_t i = 0; i < LatencyHistogram::kBuckets; ++i)
    ASSERT_EQ(back.bucket_count(i), h.bucket_count(i));
}

// Several load generators' files add up to exactly what one generator seeing
// every sample would have recorded.
TEST(HistogramFile, MergedFilesEqualOneHistogramOfEverything) {
  LatencyHistogram whole;
  LatencyHistogram merged;
  for (uint64_t process = 1; process <= 3; ++process) {
    const LatencyHistogram part = random_histogram(process, 20'000);
    whole.merge(part);
    merged.merge(parse_histogram_file(format_histogram_file(part)));
  }
  for (double p : {50.0, 90.0, 99.0, 99.9, 99.99, 99.999, 100.0})
    EXPECT_EQ(merged.percentile(p), whole.percentile(p));
  EXPECT_EQ(merged.count(), whole.count());
  EXPECT_DOUBLE_EQ(merged.mean(), whole.mean());
}

TEST(HistogramFile, ListsPercentilesDownToFiveNines) {
  const auto ticks = percentile_ticks();
  EXPECT_EQ(ticks.front(), 0.0);
  EXPECT_EQ(ticks.back(), 100.0);
  EXPECT_NE(std::find(ticks.begin(), ticks.end(), 50.0), ticks.end());
  EXPECT_NE(std::find(ticks.begin(), ticks.end(), 99.999), ticks.end());
  EXPECT_TRUE(std::is_sorted(ticks.begin(), ticks.end()));
  const std::string text = format_histogram_file(random_histogram(9, 1000));
  EXPECT_NE(text.find("Percentile"), std::string::npos);
  EXPECT_NE(text.find("0.999990000000"), std::string::npos);
}

TEST(HistogramFile, RejectsOtherFiles) {
  EXPECT_THROW(parse_histogram_file("hello"), std::runtime_error);
  EXPECT_THROW(parse_histogram_file("# cmbench latency histogram v1\nno buckets\n"),
               std::runtime_error);
  EXPECT_THROW(parse_histogram_file("# cmbench latency histogram v1\n#buckets 7 0 0 0 99999:1\n"),
               std::runtime_error);
}

}  // namespace
}  // namespace cmb::loadgen
