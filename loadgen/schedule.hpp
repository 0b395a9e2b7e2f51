// When each request of an open-loop run is meant to be sent (wrk2's model):
// the target rate is split evenly over every connection of every thread,
// and each connection follows its own schedule of intended send times.
// Latency is then measured from the intended time, so a server stall also
// counts against the requests that could not be sent during it
// (coordinated omission). Pure arithmetic; one instance per connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace cmb::loadgen {

enum class Arrival {
  kUniform,  // evenly spaced sends
  kPoisson,  // exponential gaps with the same mean (independent arrivals)
};

// The target rate over a run. wrk2 holds one; cmbench may ramp it:
// `-R N` one rate, `-R A:B` a straight line from A as the measured window
// opens to B as it ends, `-R A,B,C --step T` each rate for T in turn (and
// the last one after). The warm-up runs at the first rate. Plain data.
struct RateProfile {
  std::vector<double> rates;           // requests/s; one: a constant rate
  bool linear = false;                 // two rates: a line from the first to the second
  std::chrono::nanoseconds step{0};    // steps: how long each rate lasts
  std::chrono::nanoseconds window{0};  // the measured window's length (the line's span)

  bool ramps() const { return rates.size() > 1; }
  // The rate `since_open` after the measured window opened (negative: in
  // the warm-up).
  double at(std::chrono::nanoseconds since_open) const;
  // Its mean over the window: what a run's summary calls the target.
  double mean() const;
  // What -R takes back: "2000", "1000:20000", "1000,2000,4000".
  std::string rates_text() const;
  // For people: rates_text(), and for steps " every 10s".
  std::string text() const;
};

// "N", "A:B" or "A,B,C" into rates (step and window are the caller's).
// Throws std::invalid_argument naming what is wrong: an empty or
// non-positive rate, a line of other than two ends, ':' and ',' together.
RateProfile parse_rate_profile(std::string_view text);

// `-R TEXT [--step STEP]` over a measured window of `window`: parsed, with
// its step and window set. Steps (A,B,C) take a step and a line or one rate
// none ("" for none); steps given a window of 0 last all their steps.
// Throws std::invalid_argument naming what is wrong.
RateProfile rate_profile(std::string_view text, std::string_view step,
                         std::chrono::nanoseconds window);

class OpenLoopSchedule {
 public:
  using Clock = std::chrono::steady_clock;

  // Connection `index` of `connections` in all, sharing `rate` requests/s
  // that start at `start`. Uniform schedules are staggered by index / rate
  // so the connections do not fire together; a rate below the number of
  // connections (or threads) is still honoured on average.
  OpenLoopSchedule(double rate, int connections, int index, Clock::time_point start,
                   Arrival arrival, uint64_t seed);
  // The same following `profile`, whose window opens at `window_open`:
  // each gap is set by the rate at the send it follows.
  OpenLoopSchedule(const RateProfile& profile, Clock::time_point window_open, int connections,
                   int index, Clock::time_point start, Arrival arrival, uint64_t seed);

  // The intended time of the next request; does not advance.
  Clock::time_point next() const { return next_; }
  // Takes the next intended time and moves the schedule on.
  Clock::time_point take();

  // The mean time between this connection's requests, at the rate of its
  // next one.
  std::chrono::nanoseconds interval() const { return std::chrono::nanoseconds(interval_ns_); }

 private:
  int64_t gap_ns();
  // interval_ns_ for the rate at `when`.
  void follow_profile(Clock::time_point when);

  Arrival arrival_;
  int connections_;
  std::optional<RateProfile> profile_;  // none: the constant rate
  Clock::time_point window_open_;
  int64_t interval_ns_;
  Clock::time_point next_;
  std::mt19937_64 random_;
};

}  // namespace cmb::loadgen
