// Whether a point was measured in a steady state: the `steady` column.
// Plain rule, one place.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cmb::harness {

// Below this many responses in the window the slices are mostly ties and
// zeros: too few to tell.
inline constexpr uint64_t kSteadyMinResponses = 100;
// A trend counts when Mann-Kendall finds it at this level ...
inline constexpr double kSteadyAlpha = 0.05;
// ... and it moved the rate by this share of its median across the window.
// Both, as compare asks of a change: the test alone calls 1 series in 20
// of pure noise a trend, and the size alone would call noisy slices one.
// Together (tests/harness/steady_test.cpp): slices with 4 % noise are
// steady in at least 97 draws of 100, a ramp by half is not in all, and a
// 2x step a third of the way in is not in 96 (a step is not the monotonic
// trend the test is made for).
inline constexpr double kSteadyChange = 0.10;

// "yes", "no", or "" (too few responses), from the responses completed in
// each slice of the window (loadgen::LoadResult::slices).
std::string steady_of(const std::vector<uint64_t>& slices);

// `--warmup auto`: the warm-up goes on one second at a time until the last
// kSettleSeconds of it have settled, or until the cap.
inline constexpr size_t kSettleSeconds = 5;
// Over five values a step (a cache filled, a JIT done) is not the
// monotonic trend Mann-Kendall is made for: any move this large between
// the first and the last of them counts too.
inline constexpr double kSettleStep = 0.25;

// Whether a warm-up's last seconds (a figure per second: requests/s, or
// mean latency in an open loop) have settled: fewer than kSettleSeconds
// have not; else neither the steady rule's trend nor a step.
bool settled(const std::vector<double>& seconds);

}  // namespace cmb::harness
