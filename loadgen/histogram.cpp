#include "loadgen/histogram.hpp"

#include <algorithm>
#include <cmath>

namespace cmb::loadgen {

uint64_t LatencyHistogram::bucket_low(size_t index) {
  constexpr size_t kLinear = size_t{2} << kSubBucketBits;
  if (index < kLinear) return index;
  const size_t shift = (index >> kSubBucketBits) - 1;
  const size_t sub = index - (shift << kSubBucketBits);
  return uint64_t{sub} << shift;
}

uint64_t LatencyHistogram::bucket_width(size_t index) {
  constexpr size_t kLinear = size_t{2} << kSubBucketBits;
  if (index < kLinear) return 1;
  return uint64_t{1} << ((index >> kSubBucketBits) - 1);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

uint64_t LatencyHistogram::percentile(double p) const {
  if (count_ == 0) return 0;
  // The small epsilon keeps 99.9 % of 1000 at rank 999, not 1000.
  const double exact = std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(count_);
  const uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(exact - 1e-9)));
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const uint64_t middle = bucket_low(i) + (bucket_width(i) - 1) / 2;
      return std::clamp(middle, min(), max_);
    }
  }
  return max_;
}

}  // namespace cmb::loadgen
