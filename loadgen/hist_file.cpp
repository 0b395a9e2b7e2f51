#include "loadgen/hist_file.hpp"

#include <fmt/format.h>

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace cmb::loadgen {
namespace {

constexpr std::string_view kMagic = "# cmbench latency histogram v1";
constexpr std::string_view kBuckets = "#buckets";

}  // namespace

std::vector<double> percentile_ticks() {
  std::vector<double> ticks;
  for (int halving = 0; halving < 20; ++halving) {
    const double remaining = 100.0 / std::pow(2.0, halving);
    for (int step = 0; step < 5; ++step) {
      const double p = 100.0 - remaining + step * remaining / 10.0;
      if (p > 99.999) {
        ticks.push_back(99.999);
        ticks.push_back(100.0);
        return ticks;
      }
      ticks.push_back(p);
    }
  }
  ticks.push_back(100.0);
  return ticks;
}

std::string format_histogram_file(const LatencyHistogram& h) {
  std::string out = fmt::format("{} (values in microseconds)\n", kMagic);
  out += fmt::format("{:>12} {:>14} {:>12} {:>14}\n\n", "Value", "Percentile", "TotalCount",
                     "1/(1-Percentile)");
  for (double p : percentile_ticks()) {
    const uint64_t value = h.percentile(p);
    const uint64_t below =
        static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(h.count())));
    if (p < 100.0) {
      out += fmt::format("{:12.3f} {:14.12f} {:12} {:14.2f}\n", static_cast<double>(value) / 1000.0,
                         p / 100.0, below, 1.0 / (1.0 - p / 100.0));
    } else {
      out += fmt::format("{:12.3f} {:14.12f} {:12}\n", static_cast<double>(value) / 1000.0, 1.0,
                         h.count());
    }
  }
  out += fmt::format("#[Mean = {:.3f}, Max = {:.3f}, Total count = {}]\n", h.mean() / 1000.0,
                     static_cast<double>(h.max()) / 1000.0, h.count());
  // The exact state, for merging: sub-bucket bits, sum, min, max (ns), then
  // index:count pairs of the non-empty buckets.
  out += fmt::format("{} {} {} {} {}", kBuckets, LatencyHistogram::kSubBucketBits, h.sum(), h.min(),
                     h.max());
  for (size_t i = 0; i < LatencyHistogram::kBuckets; ++i)
    if (h.bucket_count(i) > 0) out += fmt::format(" {}:{}", i, h.bucket_count(i));
  out += "\n";
  return out;
}

LatencyHistogram parse_histogram_file(const std::string& text) {
  if (text.rfind(kMagic, 0) != 0) throw std::runtime_error("not a cmbench latency histogram file");
  const size_t at = text.find(std::string("\n") + std::string(kBuckets));
  if (at == std::string::npos) throw std::runtime_error("the histogram file has no #buckets line");
  std::istringstream line(text.substr(at + 1 + kBuckets.size()));
  int bits = 0;
  uint64_t sum = 0, min = 0, max = 0;
  if (!(line >> bits >> sum >> min >> max)) throw std::runtime_error("malformed #buckets line");
  if (bits != LatencyHistogram::kSubBucketBits)
    throw std::runtime_error(fmt::format("histogram precision {} differs from this build's {}",
                                         bits, LatencyHistogram::kSubBucketBits));
  std::vector<std::pair<size_t, uint64_t>> buckets;
  for (std::string pair; line >> pair;) {
    const size_t colon = pair.find(':');
    size_t index = 0;
    uint64_t count = 0;
    try {
      index = std::stoull(pair.substr(0, colon));
      count = std::stoull(pair.substr(colon + 1));
    } catch (const std::exception&) {
      throw std::runtime_error(fmt::format("malformed bucket '{}'", pair));
    }
    if (colon == std::string::npos || index >= LatencyHistogram::kBuckets)
      throw std::runtime_error(fmt::format("malformed bucket '{}'", pair));
    buckets.emplace_back(index, count);
  }
  return LatencyHistogram::restore(buckets, sum, min, max);
}

}  // namespace cmb::loadgen
