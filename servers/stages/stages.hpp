// Where a request's time goes inside the server: the stages every own model
// stamps (in the shared HttpSession), kept as histograms beside the
// server's counters (servers/counters.hpp). Plain data and arithmetic.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string_view>

namespace cmb::servers {

// In the order a request passes them; the CSV's STAGE_mean_us and
// STAGE_p99_us columns are named by kStageNames.
enum class Stage {
  kInbound,   // from its first byte in the socket's receive queue until the model read it
  kQueued,    // from read and parsed until its handler starts
  kService,   // the handler, start to end (its sleep, CPU or wait)
  kOutbound,  // from the handler's end until the response's last byte went to the kernel
};
inline constexpr int kStages = 4;
inline constexpr std::array<std::string_view, kStages> kStageNames = {"inbound", "queued",
                                                                      "service", "outbound"};

// What the server holds waiting for a worker in one stage as it is read
// (a connection accepted and queued for a pool thread, a request read and
// queued for a handler): how many, and their waits so far added up. The
// server knows of these though none may ever be answered; the listen
// backlog and unread socket buffers are the kernel's, not counted here.
struct WaitingWork {
  uint64_t count = 0;
  uint64_t age_ns = 0;
  double age_mean_us() const noexcept {
    return count == 0 ? 0 : static_cast<double>(age_ns) / static_cast<double>(count) / 1000.0;
  }
};

// A histogram of nanoseconds in kStageBuckets buckets: 64 ns wide below
// 1 024 ns, then 16 per power of two (the middle within 3.2 % of any value
// in the bucket) up to 2^41 ns (36 minutes); longer counts in the last.
// Coarser than the load generator's HdrHistogram, and fixed in size, so
// that it can live in memory shared across processes as plain counters.
inline constexpr int kStageSubBuckets = 16;
inline constexpr int kStageBuckets = 16 + kStageSubBuckets * 31;

constexpr int stage_bucket(uint64_t nanos) noexcept {
  if (nanos < 1024) return static_cast<int>(nanos / 64);
  const int exponent = 63 - __builtin_clzll(nanos);  // 10 or more
  if (exponent > 40) return kStageBuckets - 1;
  const int sub = static_cast<int>((nanos >> (exponent - 4)) & (kStageSubBuckets - 1));
  return 16 + (exponent - 10) * kStageSubBuckets + sub;
}

// The middle of a bucket's range, in nanoseconds: what a percentile reports.
constexpr double stage_bucket_middle(int bucket) noexcept {
  if (bucket < 16) return 64.0 * bucket + 32.0;
  const int exponent = 10 + (bucket - 16) / kStageSubBuckets;
  const auto sub = static_cast<uint64_t>((bucket - 16) % kStageSubBuckets);
  const auto width = static_cast<double>(uint64_t{1} << (exponent - 4));
  return static_cast<double>((kStageSubBuckets + sub) << (exponent - 4)) + width / 2;
}

struct StageHistogram {
  uint64_t count = 0;
  uint64_t sum_ns = 0;
  std::array<uint64_t, kStageBuckets> buckets{};

  void record(uint64_t nanos) noexcept {
    ++count;
    sum_ns += nanos;
    ++buckets[static_cast<size_t>(stage_bucket(nanos))];
  }
  double mean_us() const noexcept {
    return count == 0 ? 0 : static_cast<double>(sum_ns) / static_cast<double>(count) / 1000.0;
  }
  // The bucket middle at or above `percent` of the samples, in µs; 0 when empty.
  double percentile_us(double percent) const noexcept;
  // What was recorded between an earlier reading and this one.
  StageHistogram since(const StageHistogram& earlier) const noexcept;
};

}  // namespace cmb::servers
