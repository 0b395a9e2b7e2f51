// The load generator's per-thread worker: worker.cpp (the schedule,
// parsing and accounting) and its two transports, worker_epoll.cpp and
// worker_uring.cpp. engine.cpp starts the workers and merges them. Internal to
// loadgen; a Worker is used from its own thread only.
#pragma once

#include <liburing.h>
#include <sys/epoll.h>
#include <sys/time.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "loadgen/load.hpp"
#include "net/fd.hpp"
#include "net/http_response.hpp"
#include "net/socket.hpp"
#include "net/uring.hpp"

namespace cmb::loadgen::detail {

using Clock = std::chrono::steady_clock;

constexpr auto kScanInterval = std::chrono::milliseconds(10);
// A refused or failed connect is retried after this pause, not in a spin.
constexpr auto kConnectRetryDelay = std::chrono::milliseconds(100);
constexpr size_t kReadChunk = 64 * 1024;
constexpr int kMaxEvents = 256;
// io-uring engine: receive buffers the kernel picks, shared by a thread's
// connections and handed back as soon as their bytes are parsed.
constexpr unsigned kRingEntries = 4096;
constexpr unsigned kBufferCount = 256;  // a power of two
constexpr unsigned kBufferSize = 16 * 1024;

uint64_t nanos(Clock::duration d);
// What a failed connect, read or write says, with a hint where one helps.
std::string error_text(int error);

// What every worker reads; written before the workers start.
// The second of a measured window `window` long that `since_open` falls
// in: whole seconds from its start, 0 before it, and its last second for
// what is read after its end (the last wait wakes at the end, and the
// responses read then still count). So the timeline's last row is never a
// sliver of microseconds, drawn as a rate a thousand times the point's.
size_t window_second(Clock::duration since_open, Clock::duration window);
// The same for LoadResult::slices: which of kWindowSlices equal slices.
size_t window_slice(Clock::duration since_open, Clock::duration window);

struct Plan {
  const LoadConfig* config;
  net::Address address;
  std::vector<std::string> requests;        // one per target
  std::vector<unsigned> cumulative_weight;  // for picking a target
  Clock::time_point start;
  Clock::time_point measure_start;
  Clock::time_point end;
  const std::atomic<bool>* cancel;
  uint64_t max_requests = 0;        // this agent's share of LoadConfig::max_requests
  std::atomic<uint64_t> issued{0};  // with max_requests: requests taken from the budget
  // Every load thread arrives at window_edge as the measured window opens,
  // and at window_close as it closes (having run to its end); the last to
  // arrive runs LoadConfig::on_window_open or on_window_close, then all go
  // on. A thread that will not arrive (it failed, or its run was cut short)
  // drops out of both.
  struct EdgeHook {
    const std::function<void()>* hook;
    void operator()() noexcept {
      if (*hook) (*hook)();
    }
  };
  std::unique_ptr<std::barrier<EdgeHook>> window_edge;
  std::unique_ptr<std::barrier<EdgeHook>> window_close;
  bool open_loop() const { return config->rate > 0; }
};

class Worker {
 public:
  Worker(Plan& plan, int first_connection, int connections, uint64_t seed);
  void run(int cpu);
  LoadResult& result() { return result_; }
  Clock::time_point finished() const { return finished_; }
  uint64_t in_flight() const { return in_flight_; }

 private:
  enum class State { kClosed, kConnecting, kOpen };
  struct InFlight {
    Clock::time_point intended;
    Clock::time_point sent;
    uint16_t target;
  };
  struct Connection {
    net::Fd fd;
    State state = State::kClosed;
    std::deque<InFlight> in_flight;
    std::string out;  // request bytes not yet written
    size_t out_sent = 0;
    Clock::time_point connect_started;
    Clock::time_point retry_at;
    Clock::time_point ready_at;  // closed loop: earliest next send (think time)
    std::optional<OpenLoopSchedule> schedule;
    net::ResponseParser parser;
    bool parsing = false;
    // io-uring: completions name the socket they were for, so one that
    // arrives after the connection was replaced is recognised as stale.
    uint32_t generation = 0;
    bool answered_in_window = false;  // any response in the measured window
    std::string sending;              // bytes the kernel may still be reading (io-uring)
    size_t sending_done = 0;
    bool send_in_flight = false;
  };
  using Due = std::pair<Clock::time_point, uint32_t>;
  enum class Op : uint64_t { kConnect = 1, kRecv = 2, kSend = 3 };

  void open(uint32_t index, Clock::time_point now);
  // Ends a connection's socket. With io-uring, its pending receive and
  // connect complete at once (stale) instead of holding the socket open.
  void close_socket(Connection& c);
  // epoll (worker_epoll.cpp): register a connecting socket, handle an
  // edge, send what is pending until EAGAIN.
  void watch(uint32_t index, Clock::time_point now);
  void on_event(uint32_t index, uint32_t events);
  bool send_some(uint32_t index);
  // io-uring: submit, wait, and handle every completion.
  int wait_for_completions(Clock::duration wait);
  void on_completion(const io_uring_cqe& cqe, Clock::time_point now);
  void submit(Op op, uint32_t index, io_uring_sqe* entry);
  void arm_recv(uint32_t index);
  void send_next(uint32_t index);
  void try_send(uint32_t index, Clock::time_point now);
  bool write_some(uint32_t index);
  // Reads until the socket is drained: EAGAIN, or a short read unless the
  // peer has shut down (`peer_shut`), whose EOF no later edge announces
  // (the server's rule too; see EventLoop::read_input).
  void read_some(uint32_t index, bool peer_shut);
  // What either engine does with bytes read, and with the peer's EOF.
  void consume(uint32_t index, std::string_view data, Clock::time_point now);
  void on_eof(uint32_t index, Clock::time_point now);
  void on_response(uint32_t index, Clock::time_point now);
  void fail(uint32_t index, uint64_t ErrorCounts::*cause, const std::string& what,
            Clock::time_point now, Clock::duration retry_after = {});
  void scan(Clock::time_point now);
  // Records a request's latency everywhere it is counted: the totals, its
  // target, its second of the timeline and of the interval histograms. A
  // request that timed out took at least its age: it is recorded as that
  // lower bound (wrk drops it, which hides starvation). `answered` false:
  // the window closed on it (record_unfinished), so it stays out of the
  // uncorrected view, which counts responses from their actual send.
  // Returns the latency recorded, in ns.
  uint64_t record_latency(const Connection& c, const InFlight& request, Clock::time_point now,
                          bool answered = true);
  // As the window closes at `end`: every request still unanswered, and in
  // an open loop every send due before `end` that has not gone out, in the
  // latency at its age then (LoadResult::unfinished).
  void record_unfinished(Clock::time_point end);
  void run_due(Clock::time_point now);
  uint16_t pick_target();
  bool measuring(Clock::time_point now) const { return now >= plan_.measure_start; }
  // Waits for socket events until `wait` has passed: to the nanosecond with
  // epoll_pwait2 (Linux 5.11), else in whole milliseconds (rounded up, so
  // an open loop's sends would run up to a millisecond late).
  int wait_for_events(epoll_event* events, Clock::duration wait);
  // Open loop: how much earlier than a send is due the thread wakes, to
  // poll until then (see LoadConfig::max_spin). Learned from each timed
  // wait as a streaming estimate of the 99th percentile of the timer's
  // lateness: 99 steps up after a wait that woke later than the estimate,
  // one step down after one that did not, so it settles where 1 wait in
  // 100 wakes later -- spinning for the tail would cost a core.
  void learn_wake_lateness(Clock::duration late);
  // The loop: events, sends due and timeouts until the run's end.
  void drive();
  // Drops out of the window's edges not yet reached (see Plan::window_edge).
  void leave_edges();
  // Once the measured window is due, waits at its edge for the other load
  // threads (see Plan::window_edge); from then on it counts what it sends,
  // reads and loses.
  void open_window_when_due(Clock::time_point now);
  // window_second of `now` in this run's window.
  size_t second_index(Clock::time_point now) const;
  TimelineSecond* second(Clock::time_point now);
  bool budget_spent() const {
    return plan_.max_requests > 0 &&
           plan_.issued.load(std::memory_order_relaxed) >= plan_.max_requests;
  }

  Plan& plan_;
  const LoadConfig& config_;
  std::vector<Connection> connections_;
  net::Fd epoll_;
  std::unique_ptr<net::Uring> uring_;  // with IoEngine::kIoUring, instead of epoll_
  std::unique_ptr<char[]> buffer_ = std::make_unique<char[]>(kReadChunk);
  std::priority_queue<Due, std::vector<Due>, std::greater<>> due_;
  std::mt19937_64 random_;
  uint64_t in_flight_ = 0;
  bool window_open_ = false;
  bool precise_wait_ = true;  // epoll_pwait2 works here (until it says ENOSYS)
  Clock::duration wake_early_{0};
  LoadResult result_;
  Clock::time_point finished_;
};

}  // namespace cmb::loadgen::detail
