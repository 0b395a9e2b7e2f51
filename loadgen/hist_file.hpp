// Latency histograms on disk: the percentile table HdrHistogram prints
// (value, percentile, total count, 1/(1-percentile), down to 99.999 %)
// followed by the raw bucket counts, so files from several load generators
// merge exactly.
#pragma once

#include <string>
#include <vector>

#include "loadgen/histogram.hpp"

namespace cmb::loadgen {

// The file's text. Values are printed in microseconds.
std::string format_histogram_file(const LatencyHistogram& histogram);

// Parses a file written by format_histogram_file. Throws
// std::runtime_error naming what is wrong.
LatencyHistogram parse_histogram_file(const std::string& text);

// The percentiles a file lists: HdrHistogram's halving ticks (5 per half
// distance to 100 %) down to 99.999, then 100.
std::vector<double> percentile_ticks();

}  // namespace cmb::loadgen
