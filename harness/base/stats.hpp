// The statistics `cmbench compare` decides with, and the intervals and
// outlier flags a sweep puts on repeated points. Pure functions.
#pragma once

#include <cstdint>
#include <vector>

namespace cmb::harness {

double median(std::vector<double> values);

struct Interval {
  double lo = 0;
  double hi = 0;
  bool contains(double value) const { return lo <= value && value <= hi; }
};

// A percentile bootstrap interval (95 % by default) for the median of
// `samples`: the median of `resamples` resamplings with replacement, cut at
// its 2.5th and 97.5th percentiles. The median because a point's figure is
// its repetitions' median; the bootstrap because it assumes no
// distribution. With few samples it is wide, and honestly so: with 5 it is
// mostly [min, max], which covers the true median 1 - 2/2^5 = 94 % of the
// time. Seeded, so one CSV always gets one interval. Needs 2 samples or
// more; with one, lo = hi = that sample.
Interval median_interval(const std::vector<double>& samples, double level = 0.95,
                         int resamples = 2000, uint64_t seed = 1);

// The same for the relative change of the median, median(fresh) /
// median(base) - 1, each side resampled on its own: what compare prints
// beside a verdict (benchstat's and Criterion's "change" interval). An
// interval that excludes 0 is a change the samples cannot explain away.
Interval change_interval(const std::vector<double>& base, const std::vector<double>& fresh,
                         double level = 0.95, int resamples = 2000, uint64_t seed = 1);

// A monotonic trend in a series, by Mann-Kendall's test: its two-sided
// p-value (the normal approximation, with the correction for ties and for
// continuity; 1 with fewer than 5 values), and how far the series moved:
// the median of its last third less that of its first, as a share of its
// median (-0.3: it fell by 30 %; 0 when the median is 0). Rank-based, so
// one outlying value (a pause) moves it little and no distribution is
// assumed; it has power from about 8 values on, and the thirds size a ramp
// and a step alike (Sen's slope, the usual companion, sized a step a third
// of the way in at under 10 % in a third of the draws).
struct Trend {
  double p = 1;
  double change = 0;
};
Trend mann_kendall(const std::vector<double>& series);

// Tukey's fences: which samples lie more than 1.5 interquartile ranges
// outside the quartiles (linear interpolation between order statistics).
// Fewer than 4 samples have no meaningful quartiles: none is flagged.
std::vector<bool> tukey_outliers(const std::vector<double>& samples);

}  // namespace cmb::harness
