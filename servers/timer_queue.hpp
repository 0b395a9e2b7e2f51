// Deadlines for non-blocking waits (wait_us), earliest first. A timer names
// a connection by descriptor and generation, so one that fires after its
// connection closed (and the descriptor was reused) is recognised as stale.
// Used from its loop's thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <queue>
#include <vector>

namespace cmb::servers {

class TimerQueue {
 public:
  using Clock = std::chrono::steady_clock;
  struct Timer {
    Clock::time_point when;
    int fd;
    uint64_t generation;
    bool operator>(const Timer& other) const { return when > other.when; }
  };

  void add(Clock::time_point when, int fd, uint64_t generation) {
    heap_.push({when, fd, generation});
  }

  // Milliseconds until the earliest timer (rounded up), or `idle` if none.
  int next_timeout_ms(Clock::time_point now, int idle) const {
    if (heap_.empty()) return idle;
    if (heap_.top().when <= now) return 0;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(heap_.top().when - now);
    return static_cast<int>(std::min<int64_t>(left.count(), idle < 0 ? INT32_MAX : idle));
  }

  // Removes and returns the timers due at `now`.
  std::vector<Timer> take_due(Clock::time_point now) {
    std::vector<Timer> due;
    while (!heap_.empty() && heap_.top().when <= now) {
      due.push_back(heap_.top());
      heap_.pop();
    }
    return due;
  }

 private:
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> heap_;
};

}  // namespace cmb::servers
