#include "loadgen/load.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace cmb::loadgen {

std::string_view io_engine_name(IoEngine engine) {
  for (const auto& known : kIoEngines)
    if (known.engine == engine) return known.name;
  return "unknown";
}

std::string status_detail(int hundreds) { return fmt::format("status {}xx", hundreds); }

uint64_t ErrorCounts::total() const {
  uint64_t sum = 0;
  for (const auto& cause : kErrorCauses) sum += this->*cause.count;
  return sum;
}

ErrorCounts& ErrorCounts::operator+=(const ErrorCounts& other) {
  for (const auto& cause : kErrorCauses) this->*cause.count += other.*cause.count;
  return *this;
}

LoadResult& LoadResult::operator+=(const LoadResult& other) {
  requests += other.requests;
  sent += other.sent;
  abandoned += other.abandoned;
  unfinished += other.unfinished;
  timed_out += other.timed_out;
  connections_unanswered += other.connections_unanswered;
  unanswered_ns += other.unanswered_ns;
  in_flight_at_open += other.in_flight_at_open;
  answered_ns += other.answered_ns;
  bytes_read += other.bytes_read;
  errors += other.errors;
  for (const auto& [what, count] : other.error_details) error_details[what] += count;
  latency.merge(other.latency);
  uncorrected_latency.merge(other.uncorrected_latency);
  schedule_lag.merge(other.schedule_lag);
  connect_latency.merge(other.connect_latency);
  if (targets.size() < other.targets.size()) targets.resize(other.targets.size());
  for (size_t t = 0; t < other.targets.size(); ++t) {
    targets[t].requests += other.targets[t].requests;
    targets[t].latency.merge(other.targets[t].latency);
  }
  if (timeline.size() < other.timeline.size()) timeline.resize(other.timeline.size());
  for (size_t s = 0; s < other.timeline.size(); ++s) {
    timeline[s].requests += other.timeline[s].requests;
    timeline[s].errors += other.timeline[s].errors;
    timeline[s].latency.merge(other.timeline[s].latency);
  }
  if (slices.size() < other.slices.size()) slices.resize(other.slices.size());
  for (size_t i = 0; i < other.slices.size(); ++i) slices[i] += other.slices[i];
  if (intervals.size() < other.intervals.size()) intervals.resize(other.intervals.size());
  for (size_t s = 0; s < other.intervals.size(); ++s) {
    intervals[s].latency.merge(other.intervals[s].latency);
    intervals[s].uncorrected.merge(other.intervals[s].uncorrected);
  }
  threads.insert(threads.end(), other.threads.begin(), other.threads.end());
  cpu_user_s += other.cpu_user_s;
  cpu_system_s += other.cpu_system_s;
  idle_open += other.idle_open;
  idle_failed += other.idle_failed;
  idle_closed += other.idle_closed;
  if (idle_error.empty()) idle_error = other.idle_error;
  return *this;
}

double LoadResult::max_thread_busy() const {
  double busiest = 0;
  for (const auto& thread : threads) busiest = std::max(busiest, thread.busy());
  return busiest;
}

Share segment_share(uint64_t total, int segment, int segments) {
  const auto k = static_cast<uint64_t>(segment);
  const auto n = static_cast<uint64_t>(segments);
  const uint64_t base = total / n, extra = total % n;
  return {k * base + std::min(k, extra), base + (k < extra ? 1 : 0)};
}

}  // namespace cmb::loadgen
