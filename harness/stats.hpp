// The statistics `cmbench compare` decides with. Pure functions.
#pragma once

#include <cstddef>
#include <vector>

namespace cmb::harness {

double median(std::vector<double> values);

// Two-sided p-value of the Mann-Whitney U test: how likely samples as far
// apart as `a` and `b` are if both come from one distribution. Exact (by
// counting every arrangement) when there are no ties and at most 40 samples
// in all; otherwise the normal approximation with tie correction. 1 when
// either side is empty.
double mann_whitney_p(const std::vector<double>& a, const std::vector<double>& b);

// The smallest p-value that samples of these sizes can reach: with 3
// repetitions a side it is 0.1, so no test at 0.05 can ever pass.
double smallest_possible_p(size_t n1, size_t n2);

}  // namespace cmb::harness
