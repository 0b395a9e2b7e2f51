#include "servers/stages/stages.hpp"

#include <cmath>

namespace cmb::servers {

double StageHistogram::percentile_us(double percent) const noexcept {
  if (count == 0) return 0;
  const auto wanted = static_cast<uint64_t>(std::ceil(static_cast<double>(count) * percent / 100));
  uint64_t seen = 0;
  for (int b = 0; b < kStageBuckets; ++b) {
    seen += buckets[static_cast<size_t>(b)];
    if (seen >= wanted && seen > 0) return stage_bucket_middle(b) / 1000.0;
  }
  return stage_bucket_middle(kStageBuckets - 1) / 1000.0;
}

StageHistogram StageHistogram::since(const StageHistogram& earlier) const noexcept {
  const auto less = [](uint64_t now, uint64_t then) { return now >= then ? now - then : 0; };
  StageHistogram out;
  out.count = less(count, earlier.count);
  out.sum_ns = less(sum_ns, earlier.sum_ns);
  for (size_t b = 0; b < buckets.size(); ++b) out.buckets[b] = less(buckets[b], earlier.buckets[b]);
  return out;
}

}  // namespace cmb::servers
