#include "harness/base/stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace cmb::harness {
double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2.0;
}

namespace {

// The q-quantile (0..1) of sorted values, interpolating between neighbours.
double quantile(const std::vector<double>& sorted, double q) {
  const double at = q * static_cast<double>(sorted.size() - 1);
  const auto below = static_cast<size_t>(std::floor(at));
  const size_t above = std::min(below + 1, sorted.size() - 1);
  return sorted[below] + (at - static_cast<double>(below)) * (sorted[above] - sorted[below]);
}

std::vector<double> resample(const std::vector<double>& samples, std::mt19937_64& random) {
  std::uniform_int_distribution<size_t> pick(0, samples.size() - 1);
  std::vector<double> out(samples.size());
  for (double& v : out) v = samples[pick(random)];
  return out;
}

// The bootstrap distribution's percentile interval: its order statistics at
// the tails' edges (nearest rank, so an interval's ends are values a
// resampling gave).
Interval percentile_interval(std::vector<double> statistics, double level) {
  std::sort(statistics.begin(), statistics.end());
  const double tail = (1 - level) / 2;
  const auto rank = [&](double q) {
    return statistics[std::min(statistics.size() - 1,
                               static_cast<size_t>(q * static_cast<double>(statistics.size())))];
  };
  return {rank(tail), rank(1 - tail)};
}

}  // namespace

Interval median_interval(const std::vector<double>& samples, double level, int resamples,
                         uint64_t seed) {
  if (samples.empty()) return {};
  if (samples.size() == 1) return {samples.front(), samples.front()};
  std::mt19937_64 random(seed);
  std::vector<double> medians;
  medians.reserve(static_cast<size_t>(resamples));
  for (int i = 0; i < resamples; ++i) medians.push_back(median(resample(samples, random)));
  return percentile_interval(std::move(medians), level);
}

Interval change_interval(const std::vector<double>& base, const std::vector<double>& fresh,
                         double level, int resamples, uint64_t seed) {
  if (base.empty() || fresh.empty()) return {};
  std::mt19937_64 random(seed);
  std::vector<double> changes;
  changes.reserve(static_cast<size_t>(resamples));
  for (int i = 0; i < resamples; ++i) {
    const double b = median(resample(base, random));
    const double f = median(resample(fresh, random));
    changes.push_back(b != 0 ? f / b - 1 : 0);
  }
  return percentile_interval(std::move(changes), level);
}

Trend mann_kendall(const std::vector<double>& series) {
  const size_t n = series.size();
  if (n < 5) return {};
  double s = 0;
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i + 1; j < n; ++j) s += (series[j] > series[i]) - (series[j] < series[i]);
  std::vector<double> sorted = series;
  std::sort(sorted.begin(), sorted.end());
  const auto term = [](double t) { return t * (t - 1) * (2 * t + 5); };
  double variance = term(static_cast<double>(n));
  for (size_t i = 0; i < n;) {  // each run of equal values is a tie
    size_t j = i;
    while (j < n && sorted[j] == sorted[i]) ++j;
    variance -= term(static_cast<double>(j - i));
    i = j;
  }
  variance /= 18;
  Trend trend;
  if (variance > 0 && s != 0) {
    const double z = (std::abs(s) - 1) / std::sqrt(variance);
    trend.p = std::erfc(z / std::sqrt(2.0));
  }
  const auto third = static_cast<std::ptrdiff_t>(n / 3);
  const double first = median({series.begin(), series.begin() + third});
  const double last = median({series.end() - third, series.end()});
  if (const double middle = median(series); middle != 0) trend.change = (last - first) / middle;
  return trend;
}

std::vector<bool> tukey_outliers(const std::vector<double>& samples) {
  std::vector<bool> out(samples.size(), false);
  if (samples.size() < 4) return out;
  std::vector<double> sorted = samples;
  std::sort(sorted.begin(), sorted.end());
  const double q1 = quantile(sorted, 0.25), q3 = quantile(sorted, 0.75);
  const double reach = 1.5 * (q3 - q1);
  for (size_t i = 0; i < samples.size(); ++i)
    out[i] = samples[i] < q1 - reach || samples[i] > q3 + reach;
  return out;
}

}  // namespace cmb::harness
