// CLOCK_MONOTONIC_COARSE as a std::chrono clock: the kernel's last tick,
// read in a few nanoseconds without a system call, precise to a few
// milliseconds. The header timeout (seconds) is stamped with it on every
// response, where a precise clock read would show in the request rate.
#pragma once

#include <time.h>

#include <chrono>
#include <cstdint>

namespace cmb::servers {

struct CoarseClock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<CoarseClock>;
  static constexpr bool is_steady = true;

  static time_point now() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return time_point(duration(int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec));
  }
};

}  // namespace cmb::servers
