// HdrHistogram interval logs: exact round trips of our own histograms, the
// bytes HdrHistogram's tools expect, and decoding of other layouts. The
// check against HdrHistogram's own Java reader is Cli.LoadHlogReadsBack*.
#include "loadgen/hlog.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

namespace cmb::loadgen {
namespace {

LatencyHistogram sample() {
  LatencyHistogram h;
  for (uint64_t v : {0ull, 1ull, 255ull, 256ull, 1000ull, 123456ull, 1000000ull, 999999999ull})
    h.record(v);
  h.record_n(50000, 1000);
  h.record(LatencyHistogram::kMaxValue);
  return h;
}

void expect_same_buckets(const LatencyHistogram& a, const LatencyHistogram& b) {
  ASSERT_EQ(a.count(), b.count());
  for (size_t i = 0; i < LatencyHistogram::kBuckets; ++i)
    ASSERT_EQ(a.bucket_count(i), b.bucket_count(i)) << "bucket " << i;
  for (double p : {1.0, 50.0, 90.0, 99.0, 99.9, 100.0})
    EXPECT_NEAR(static_cast<double>(a.percentile(p)), static_cast<double>(b.percentile(p)),
                static_cast<double>(a.percentile(p)) / 128.0)
        << p;
}

TEST(Hlog, OurHistogramsRoundTripBucketForBucket) {
  const LatencyHistogram h = sample();
  expect_same_buckets(h, decode_compressed_histogram(encode_compressed_histogram(h)));
  const LatencyHistogram empty;
  EXPECT_EQ(decode_compressed_histogram(encode_compressed_histogram(empty)).count(), 0u);
}

TEST(Hlog, CountsThatNeedTheNinthLeb128ByteSurvive) {
  LatencyHistogram h;
  h.record_n(5, uint64_t{1} << 61);
  h.record_n(700, (uint64_t{1} << 62) + 3);
  expect_same_buckets(h, decode_compressed_histogram(encode_compressed_histogram(h)));
}

TEST(Hlog, LinesCarryHdrHistogramsCompressedV2Cookie) {
  // Every V2-compressed HdrHistogram in base64 starts "HISTF": the cookie
  // 0x1c849314 that HdrHistogram's readers look for.
  HlogFile log;
  log.start_epoch_s = 1700000000.25;
  log.intervals.push_back({"", 0, 1, sample()});
  const std::string text = format_interval_log(log);
  EXPECT_NE(text.find("#[Histogram log format version 1.3]\n"), std::string::npos) << text;
  EXPECT_NE(text.find("#[StartTime: 1700000000.250 (seconds since epoch), Tue Nov 14 "),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\n0.000,1.000,1099511.628,HISTF"), std::string::npos) << text;
}

TEST(Hlog, LogsRoundTripWithTagsAndTimes) {
  HlogFile log;
  log.start_epoch_s = 1700000000.5;
  LatencyHistogram other;
  other.record_n(2000, 3);
  log.intervals = {
      {"corrected", 0, 1, sample()}, {"uncorrected", 0, 1, other}, {"corrected", 1, 0.25, other}};
  const HlogFile back = parse_interval_log(format_interval_log(log));
  EXPECT_DOUBLE_EQ(back.start_epoch_s, 1700000000.5);
  ASSERT_EQ(back.intervals.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(back.intervals[i].tag, log.intervals[i].tag);
    EXPECT_NEAR(back.intervals[i].start_s, log.intervals[i].start_s, 1e-3);
    EXPECT_NEAR(back.intervals[i].length_s, log.intervals[i].length_s, 1e-3);
    expect_same_buckets(back.intervals[i].histogram, log.intervals[i].histogram);
  }
}

TEST(Hlog, AbsoluteTimestampsWithoutBaseTimeAreMadeRelative) {
  LatencyHistogram h;
  h.record(1000);
  HlogFile log;
  log.intervals.push_back({"", 0, 1, h});
  std::string line = format_interval_log(log);
  line = line.substr(line.rfind("0.000,1.000,"));  // the histogram line alone
  const std::string text =
      "#[StartTime: 1700000000.000 (seconds since epoch), whenever]\n1700000002.500" +
      line.substr(5);
  const HlogFile back = parse_interval_log(text);
  ASSERT_EQ(back.intervals.size(), 1u);
  EXPECT_NEAR(back.intervals[0].start_s, 2.5, 1e-6);
  EXPECT_EQ(back.intervals[0].histogram.count(), 1u);
}

// A V2 histogram of another layout, built by hand as HdrHistogram encodes
// one: 3 significant digits (2048 sub-buckets) and a lowest value of 1000.
std::string foreign_histogram() {
  std::string raw;
  const auto u32 = [&](uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) raw += static_cast<char>((v >> s) & 0xff);
  };
  const auto u64 = [&](uint64_t v) {
    for (int s = 56; s >= 0; s -= 8) raw += static_cast<char>((v >> s) & 0xff);
  };
  // Counts: 5 empty, 7 at index 5; then 1021 empty, 2 at index 1027. ZigZag:
  // -5 -> 9, 7 -> 14, -1021 -> 2041 (0xf9 0x0f), 2 -> 4.
  const std::string payload = {9, 14, static_cast<char>(0xf9), 0x0f, 4};
  u32(0x1c849313);
  u32(static_cast<uint32_t>(payload.size()));
  u32(0);
  u32(3);
  u64(1000);
  u64(uint64_t{1} << 40);
  u64(0x3ff0000000000000);  // 1.0
  raw += payload;
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  std::string deflated(size, '\0');
  compress2(reinterpret_cast<Bytef*>(deflated.data()), &size,
            reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()), 6);
  deflated.resize(size);
  std::string out;
  raw.clear();
  u32(0x1c849314);
  u32(static_cast<uint32_t>(deflated.size()));
  return raw + deflated;
}

TEST(Hlog, OtherPrecisionsAndUnitsDecodeIntoTheirValueRanges) {
  const LatencyHistogram h = decode_compressed_histogram(foreign_histogram());
  ASSERT_EQ(h.count(), 9u);
  // Index 5 covers [5 << 9, 6 << 9) = [2560, 3072); index 1027 covers
  // [1027 << 9, 1028 << 9) = [525824, 526336).
  EXPECT_GE(h.percentile(50), 2560u);
  EXPECT_LT(h.percentile(50), 3072u);
  EXPECT_GE(h.percentile(100), 525824u * 127 / 128);
  EXPECT_LT(h.percentile(100), 526336u * 129 / 128);
}

TEST(Hlog, JunkIsRefusedWithTheLine) {
  EXPECT_THROW(decode_compressed_histogram("not a histogram"), std::runtime_error);
  std::string truncated = foreign_histogram();
  truncated.resize(truncated.size() - 4);
  EXPECT_THROW(decode_compressed_histogram(truncated), std::runtime_error);
  try {
    parse_interval_log("#[StartTime: 1 (seconds since epoch)]\n0.000,1.000,0.1,HISTFAAAA!!\n");
    FAIL() << "a corrupt histogram line was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_interval_log("1.0,2.0\n"), std::runtime_error);
}

}  // namespace
}  // namespace cmb::loadgen
