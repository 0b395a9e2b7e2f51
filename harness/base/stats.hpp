// The statistics `cmbench compare` decides with. Pure functions.
#pragma once

#include <vector>

namespace cmb::harness {

double median(std::vector<double> values);

// Two-sided p-value of Welch's t-test (unequal variances) on the logarithms
// of the samples: how likely means this far apart are, given the samples'
// own scatter, if both come from one distribution. Logarithms because
// throughput and latency vary by factors, and a ratio is what compare
// reports. Falls back to the raw values when any value is not positive.
// Unlike a rank test it has power at three repetitions a side: a shift
// large against the scatter gives a small p. 1 when either side has fewer
// than two samples; with no scatter on either side, 0 if the means differ
// and 1 if they do not.
double welch_p(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace cmb::harness
