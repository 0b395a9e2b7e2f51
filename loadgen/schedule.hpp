// When each request of an open-loop run is meant to be sent (wrk2's model):
// the target rate is split evenly over every connection of every thread,
// and each connection follows its own schedule of intended send times.
// Latency is then measured from the intended time, so a server stall also
// counts against the requests that could not be sent during it
// (coordinated omission). Pure arithmetic; one instance per connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace cmb::loadgen {

enum class Arrival {
  kUniform,  // evenly spaced sends
  kPoisson,  // exponential gaps with the same mean (independent arrivals)
};

class OpenLoopSchedule {
 public:
  using Clock = std::chrono::steady_clock;

  // Connection `index` of `connections` in all, sharing `rate` requests/s
  // that start at `start`. Uniform schedules are staggered by index / rate
  // so the connections do not fire together; a rate below the number of
  // connections (or threads) is still honoured on average.
  OpenLoopSchedule(double rate, int connections, int index, Clock::time_point start,
                   Arrival arrival, uint64_t seed);

  // The intended time of the next request; does not advance.
  Clock::time_point next() const { return next_; }
  // Takes the next intended time and moves the schedule on.
  Clock::time_point take();

  // The mean time between this connection's requests.
  std::chrono::nanoseconds interval() const { return std::chrono::nanoseconds(interval_ns_); }

 private:
  int64_t gap_ns();

  Arrival arrival_;
  int64_t interval_ns_;
  Clock::time_point next_;
  std::mt19937_64 random_;
};

}  // namespace cmb::loadgen
