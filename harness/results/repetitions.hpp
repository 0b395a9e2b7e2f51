// What a point's repetitions say together, written onto each of its rows
// once a sweep ends: the 95 % bootstrap interval of the median rps and p99
// (rps_lo, rps_hi, p99_lo_us, p99_hi_us) and which repetitions lie outside
// Tukey's fences (outlier). Flagged, never dropped: every figure that reads
// a point's median still reads all of them.
#pragma once

#include <string>

namespace cmb::harness {

// Fills those columns in a results CSV over every measured point with two
// repetitions or more (outliers from four), and leaves them blank
// elsewhere: on error rows and points measured once. The file is rewritten
// whole through a temporary file renamed over it, so a reader sees the old
// file or the new one, never a mix; a file without those columns (an older
// schema) is left as it is. Throws std::runtime_error when it cannot be
// read or written.
void annotate_repetitions(const std::string& csv_path);

}  // namespace cmb::harness
