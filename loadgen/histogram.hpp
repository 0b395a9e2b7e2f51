// A log-linear latency histogram of nanosecond values: exact below 256 ns,
// then 128 equal buckets per power of two, so a reported value is within
// 0.4 % of a recorded one (HdrHistogram's layout with 2 significant digits).
// Counts only add, so merging histograms from many threads is exact.
// Not thread-safe: one per thread, merged at the end.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace cmb::loadgen {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 7;
  static constexpr uint64_t kMaxValue = (uint64_t{1} << 40) - 1;  // about 18 minutes in ns

  void record(uint64_t value) {
    if (value > kMaxValue) value = kMaxValue;
    ++counts_[bucket_index(value)];
    ++count_;
    sum_ += value;
    if (value < min_) min_ = value;
    if (value > max_) max_ = value;
  }
  void merge(const LatencyHistogram& other);
  void reset() { *this = LatencyHistogram(); }

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double mean() const {
    return count_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(count_);
  }

  // The value at percentile `p` (0 < p <= 100) by nearest rank: the smallest
  // recorded value with at least p % of the samples at or below it, reported
  // as its bucket's midpoint and clamped to [min, max]. 0 when empty.
  uint64_t percentile(double p) const;

  static size_t bucket_index(uint64_t value) {
    if (value < (uint64_t{2} << kSubBucketBits)) return static_cast<size_t>(value);
    const int shift = static_cast<int>(std::bit_width(value)) - (kSubBucketBits + 1);
    return (static_cast<size_t>(shift) << kSubBucketBits) + static_cast<size_t>(value >> shift);
  }
  // The lowest value and the width of bucket `index`.
  static uint64_t bucket_low(size_t index);
  static uint64_t bucket_width(size_t index);

  static constexpr size_t kBuckets =
      ((40 - (kSubBucketBits + 1)) << kSubBucketBits) + (size_t{2} << kSubBucketBits);
  uint64_t bucket_count(size_t index) const { return counts_[index]; }

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace cmb::loadgen
