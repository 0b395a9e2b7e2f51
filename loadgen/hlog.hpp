// HdrHistogram interval logs (log format 1.3, as HistogramLogWriter writes
// them): one line per interval, each a V2-encoded, zlib-compressed
// histogram in base64, so HdrHistogram's own tools (HistogramLogProcessor,
// HdrHistogramVisualizer) read what cmbench records. Values are
// nanoseconds. LatencyHistogram's layout is HdrHistogram's with 2
// significant digits and a lowest discernible value of 1, so encoding is
// exact: the same counts at the same indexes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "loadgen/histogram.hpp"

namespace cmb::loadgen {

struct HlogInterval {
  std::string tag;     // empty: an untagged line
  double start_s = 0;  // from the log's start time
  double length_s = 0;
  LatencyHistogram histogram;
};

struct HlogFile {
  double start_epoch_s = 0;  // the #[StartTime] of the log; 0 when absent
  std::vector<HlogInterval> intervals;
};

// The compressed V2 encoding (cookie 0x1c849314), raw bytes.
std::string encode_compressed_histogram(const LatencyHistogram& histogram);

// Decodes a compressed V2 histogram (also V1, and from other tools: any
// lowest discernible value and precision; values land in LatencyHistogram's
// buckets). Throws std::runtime_error naming what is wrong.
LatencyHistogram decode_compressed_histogram(std::string_view bytes);

// The log's text: the format line, #[StartTime] and #[BaseTime] (so the
// interval timestamps are relative), the legend, one line per interval.
std::string format_interval_log(const HlogFile& log);

// Reads a log written by HdrHistogram's HistogramLogWriter or by
// format_interval_log. Timestamps come back relative to the start time.
// Throws std::runtime_error naming the line.
HlogFile parse_interval_log(const std::string& text);

// Whether `text` starts like an interval log (a comment, a legend or a
// histogram line), as opposed to a cmbench --hist file.
bool looks_like_interval_log(std::string_view text);

}  // namespace cmb::loadgen
