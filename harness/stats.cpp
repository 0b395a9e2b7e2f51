#include "harness/stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace cmb::harness {
namespace {

// U of `a` (the number of pairs where a beats b, ties counting one half),
// and whether any value ties across or within the samples.
double u_statistic(const std::vector<double>& a, const std::vector<double>& b) {
  double u = 0;
  for (double x : a)
    for (double y : b) u += x > y ? 1.0 : x == y ? 0.5 : 0.0;
  return u;
}

bool has_ties(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> all(a);
  all.insert(all.end(), b.begin(), b.end());
  std::sort(all.begin(), all.end());
  return std::adjacent_find(all.begin(), all.end()) != all.end();
}

// counts[u] = how many of the C(n1+n2, n1) arrangements give U = u
// (recurrence on the largest value's side).
std::vector<double> u_distribution(size_t n1, size_t n2) {
  // f[i][j][u]: arrangements of i and j values with statistic u.
  std::vector<std::vector<std::vector<double>>> f(n1 + 1, std::vector<std::vector<double>>(n2 + 1));
  for (size_t i = 0; i <= n1; ++i) {
    for (size_t j = 0; j <= n2; ++j) {
      f[i][j].assign(i * j + 1, 0.0);
      if (i == 0 || j == 0) {
        f[i][j][0] = 1;
        continue;
      }
      // The largest value belongs to a (it beats all j of b) or to b.
      for (size_t u = 0; u <= i * j; ++u) {
        if (u >= j && u - j < f[i - 1][j].size()) f[i][j][u] += f[i - 1][j][u - j];
        if (u < f[i][j - 1].size()) f[i][j][u] += f[i][j - 1][u];
      }
    }
  }
  return f[n1][n2];
}

double exact_p(double u, size_t n1, size_t n2) {
  const std::vector<double> counts = u_distribution(n1, n2);
  const double total = std::accumulate(counts.begin(), counts.end(), 0.0);
  // Two-sided: the probability of a U at least as far from the middle.
  const double middle = static_cast<double>(n1 * n2) / 2.0;
  const double distance = std::abs(u - middle);
  double tail = 0;
  for (size_t k = 0; k < counts.size(); ++k)
    if (std::abs(static_cast<double>(k) - middle) >= distance - 1e-9) tail += counts[k];
  return std::min(1.0, tail / total);
}

double normal_p(const std::vector<double>& a, const std::vector<double>& b, double u) {
  const double n1 = static_cast<double>(a.size()), n2 = static_cast<double>(b.size()), n = n1 + n2;
  std::vector<double> all(a);
  all.insert(all.end(), b.begin(), b.end());
  std::sort(all.begin(), all.end());
  double tie_term = 0;
  for (size_t i = 0; i < all.size();) {
    size_t j = i;
    while (j < all.size() && all[j] == all[i]) ++j;
    const double t = static_cast<double>(j - i);
    tie_term += t * t * t - t;
    i = j;
  }
  const double variance = n1 * n2 / 12.0 * ((n + 1) - tie_term / (n * (n - 1)));
  if (variance <= 0) return 1.0;
  const double z =
      (std::abs(u - n1 * n2 / 2.0) - 0.5) / std::sqrt(variance);  // continuity correction
  return std::min(1.0, std::erfc(std::max(z, 0.0) / std::sqrt(2.0)));
}

}  // namespace

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2.0;
}

double mann_whitney_p(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.empty() || b.empty()) return 1.0;
  const double u = u_statistic(a, b);
  if (!has_ties(a, b) && a.size() + b.size() <= 40) return exact_p(u, a.size(), b.size());
  return normal_p(a, b, u);
}

double smallest_possible_p(size_t n1, size_t n2) {
  if (n1 == 0 || n2 == 0) return 1.0;
  return exact_p(0, n1, n2);
}

}  // namespace cmb::harness
