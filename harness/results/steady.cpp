#include "harness/results/steady.hpp"

#include <cmath>
#include <numeric>

#include "harness/base/stats.hpp"

namespace cmb::harness {

std::string steady_of(const std::vector<uint64_t>& slices) {
  if (std::accumulate(slices.begin(), slices.end(), uint64_t{0}) < kSteadyMinResponses) return "";
  const Trend trend = mann_kendall(std::vector<double>(slices.begin(), slices.end()));
  return trend.p < kSteadyAlpha && std::abs(trend.change) >= kSteadyChange ? "no" : "yes";
}

bool settled(const std::vector<double>& seconds) {
  if (seconds.size() < kSettleSeconds) return false;
  const std::vector<double> last(seconds.end() - kSettleSeconds, seconds.end());
  const Trend trend = mann_kendall(last);
  const bool trending = trend.p < kSteadyAlpha && std::abs(trend.change) >= kSteadyChange;
  return !trending && std::abs(trend.change) < kSettleStep;
}

}  // namespace cmb::harness
