// Log-linear latency histograms of nanosecond values (HdrHistogram's
// layout): exact below 2^(SubBucketBits+1) ns, then 2^SubBucketBits equal
// buckets per power of two, so a reported value is within
// 2^-(SubBucketBits+1) of a recorded one. Counts only add, so merging
// histograms from many threads or processes is exact.
// Not thread-safe: one per thread, merged at the end.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace cmb::loadgen {

template <int SubBucketBits>
class BasicLatencyHistogram {
 public:
  static constexpr int kSubBucketBits = SubBucketBits;
  static constexpr uint64_t kMaxValue = (uint64_t{1} << 40) - 1;  // about 18 minutes in ns
  static constexpr size_t kBuckets =
      ((40 - (kSubBucketBits + 1)) << kSubBucketBits) + (size_t{2} << kSubBucketBits);

  void record(uint64_t value) { record_n(value, 1); }
  void record_n(uint64_t value, uint64_t n) {
    if (value > kMaxValue) value = kMaxValue;
    counts_[bucket_index(value)] += n;
    count_ += n;
    sum_ += value * n;
    if (value < min_) min_ = value;
    if (value > max_) max_ = value;
  }
  void merge(const BasicLatencyHistogram& other) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    sum_ += other.sum_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }
  void reset() { *this = BasicLatencyHistogram(); }

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double mean() const {
    return count_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(count_);
  }

  // The value at percentile `p` (0 < p <= 100) by nearest rank: the smallest
  // recorded value with at least p % of the samples at or below it, reported
  // as its bucket's midpoint and clamped to [min, max]. 0 when empty.
  uint64_t percentile(double p) const {
    if (count_ == 0) return 0;
    // The small epsilon keeps 99.9 % of 1000 at rank 999, not 1000.
    const double exact = std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(count_);
    const uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(exact - 1e-9)));
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::clamp(bucket_low(i) + (bucket_width(i) - 1) / 2, min(), max_);
    }
    return max_;
  }

  static size_t bucket_index(uint64_t value) {
    if (value < (uint64_t{2} << kSubBucketBits)) return static_cast<size_t>(value);
    const int shift = static_cast<int>(std::bit_width(value)) - (kSubBucketBits + 1);
    return (static_cast<size_t>(shift) << kSubBucketBits) + static_cast<size_t>(value >> shift);
  }
  // The lowest value and the width of bucket `index`.
  static uint64_t bucket_low(size_t index) {
    if (index < (size_t{2} << kSubBucketBits)) return index;
    const size_t shift = (index >> kSubBucketBits) - 1;
    return uint64_t{index - (shift << kSubBucketBits)} << shift;
  }
  static uint64_t bucket_width(size_t index) {
    if (index < (size_t{2} << kSubBucketBits)) return 1;
    return uint64_t{1} << ((index >> kSubBucketBits) - 1);
  }
  uint64_t bucket_count(size_t index) const { return counts_[index]; }
  uint64_t sum() const { return sum_; }

  // Rebuilds a histogram from its parts (a saved file); buckets must be
  // valid indexes. Exact: the same counts, sum and extremes.
  static BasicLatencyHistogram restore(const std::vector<std::pair<size_t, uint64_t>>& buckets,
                                       uint64_t sum, uint64_t min, uint64_t max) {
    BasicLatencyHistogram h;
    for (const auto& [index, n] : buckets) {
      h.counts_[index] += n;
      h.count_ += n;
    }
    h.sum_ = sum;
    if (h.count_ > 0) {
      h.min_ = min;
      h.max_ = max;
    }
    return h;
  }

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

// Within 0.4 % (128 buckets per power of two): every reported latency.
using LatencyHistogram = BasicLatencyHistogram<7>;
// Within 3.2 % in 5 KiB: one per second of a run, for the timeline.
using CoarseLatencyHistogram = BasicLatencyHistogram<4>;

}  // namespace cmb::loadgen
