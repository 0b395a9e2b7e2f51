#include "harness/base/stats.hpp"

#include <algorithm>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <numeric>

namespace cmb::harness {
namespace {

struct Moments {
  double mean = 0;
  double variance = 0;  // sample variance (n - 1)
  double n = 0;
};

Moments moments(const std::vector<double>& values, bool logs) {
  Moments m;
  m.n = static_cast<double>(values.size());
  for (double v : values) m.mean += logs ? std::log(v) : v;
  m.mean /= m.n;
  for (double v : values) {
    const double d = (logs ? std::log(v) : v) - m.mean;
    m.variance += d * d;
  }
  m.variance /= m.n - 1;
  return m;
}

}  // namespace

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2.0;
}

double welch_p(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() < 2 || b.size() < 2) return 1.0;
  const auto positive = [](double v) { return v > 0; };
  const bool logs =
      std::all_of(a.begin(), a.end(), positive) && std::all_of(b.begin(), b.end(), positive);
  const Moments x = moments(a, logs), y = moments(b, logs);
  const double se_x = x.variance / x.n, se_y = y.variance / y.n;
  const double se = se_x + se_y;
  if (se <= 0) return x.mean == y.mean ? 1.0 : 0.0;
  const double t = (x.mean - y.mean) / std::sqrt(se);
  // Welch-Satterthwaite degrees of freedom.
  const double df = se * se / (se_x * se_x / (x.n - 1) + se_y * se_y / (y.n - 1));
  const boost::math::students_t distribution(df);
  return std::min(1.0, 2 * boost::math::cdf(boost::math::complement(distribution, std::abs(t))));
}

}  // namespace cmb::harness
