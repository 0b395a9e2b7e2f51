// The load generator's latency histogram: record (every response), merge
// (every thread at the end), percentile (every report).
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "loadgen/histogram.hpp"

namespace {

std::vector<uint64_t> latencies(size_t n) {
  std::mt19937_64 random(1);
  std::lognormal_distribution<double> latency(13.0, 1.0);
  std::vector<uint64_t> values(n);
  for (auto& v : values) v = static_cast<uint64_t>(latency(random));
  return values;
}

void BM_HistogramRecord(benchmark::State& state) {
  const auto values = latencies(4096);
  cmb::loadgen::LatencyHistogram histogram;
  size_t i = 0;
  for (auto _ : state) histogram.record(values[i++ & 4095]);
  benchmark::DoNotOptimize(histogram.count());
}
BENCHMARK(BM_HistogramRecord);

void BM_HistogramMerge(benchmark::State& state) {
  cmb::loadgen::LatencyHistogram a, b;
  for (uint64_t v : latencies(100'000)) a.record(v);
  for (auto _ : state) {
    b.merge(a);
    benchmark::DoNotOptimize(b.count());
  }
}
BENCHMARK(BM_HistogramMerge);

void BM_HistogramPercentile(benchmark::State& state) {
  cmb::loadgen::LatencyHistogram h;
  for (uint64_t v : latencies(100'000)) h.record(v);
  for (auto _ : state) benchmark::DoNotOptimize(h.percentile(99.9));
}
BENCHMARK(BM_HistogramPercentile);

}  // namespace

BENCHMARK_MAIN();
