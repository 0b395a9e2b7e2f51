#include "loadgen/schedule.hpp"

#include <cmath>
#include <stdexcept>

namespace cmb::loadgen {

OpenLoopSchedule::OpenLoopSchedule(double rate, int connections, int index, Clock::time_point start,
                                   Arrival arrival, uint64_t seed)
    : arrival_(arrival), random_(seed) {
  if (!(rate > 0) || connections < 1 || index < 0 || index >= connections)
    throw std::invalid_argument(
        "an open-loop schedule needs a positive rate and a valid connection");
  // Each connection carries rate / connections: one request per
  // connections / rate seconds.
  interval_ns_ = static_cast<int64_t>(std::llround(1e9 * connections / rate));
  if (interval_ns_ < 1) interval_ns_ = 1;
  const auto offset = arrival == Arrival::kUniform
                          ? static_cast<int64_t>(std::llround(1e9 * index / rate))
                          : gap_ns();
  next_ = start + std::chrono::nanoseconds(offset);
}

OpenLoopSchedule::Clock::time_point OpenLoopSchedule::take() {
  const Clock::time_point due = next_;
  next_ += std::chrono::nanoseconds(gap_ns());
  return due;
}

int64_t OpenLoopSchedule::gap_ns() {
  if (arrival_ == Arrival::kUniform) return interval_ns_;
  std::exponential_distribution<double> gap(1.0 / static_cast<double>(interval_ns_));
  return std::max<int64_t>(1, static_cast<int64_t>(gap(random_)));
}

}  // namespace cmb::loadgen
