// The load generator's per-thread worker: worker.cpp (the schedule,
// parsing and accounting), written once over a Transport, of which there
// are two: transport_epoll.cpp and transport_uring.cpp (as the servers'
// loops are over servers/Poller). engine.cpp starts the workers and merges
// them. Internal to loadgen; a Worker is used from its own thread only.
#pragma once

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

namespace cmb::loadgen::detail {

using Clock = std::chrono::steady_clock;

constexpr auto kScanInterval = std::chrono::milliseconds(10);
// A refused or failed connect is retried after this pause, not in a spin.
constexpr auto kConnectRetryDelay = std::chrono::milliseconds(100);

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

enum class ConnectionState { kClosed, kConnecting, kOpen };

struct InFlight {
  Clock::time_point intended;
  Clock::time_point sent;
  uint16_t target;
};

// A load connection as the worker keeps it; what a transport keeps of its
// own (what it has sent, what the kernel still reads) is the transport's.
struct Connection {
  net::Fd fd;
  ConnectionState state = ConnectionState::kClosed;
  std::deque<InFlight> in_flight;
  std::string out;  // request bytes queued for the transport to send
  Clock::time_point connect_started;
  Clock::time_point retry_at;
  Clock::time_point ready_at;  // closed loop: earliest next send (think time)
  std::optional<OpenLoopSchedule> schedule;
  net::ResponseParser parser;
  bool parsing = false;
  bool answered_in_window = false;  // any response in the measured window
};

class Worker;

// How a worker's sockets are driven: told of a connect, of an open
// connection and of bytes queued to send, it waits for the kernel and
// tells the worker what came of it (Worker's transport-facing methods).
class Transport {
 public:
  explicit Transport(Worker& worker) : worker_(worker) {}
  virtual ~Transport() = default;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // A socket is connecting: tell the worker when it is writable.
  virtual void connecting(uint32_t index, Clock::time_point now) = 0;
  // The connection is open: start receiving.
  virtual void opened(uint32_t /*index*/) {}
  // Connection::out has bytes: send them (now, or as the socket allows).
  // False when the connection failed meanwhile.
  virtual bool send(uint32_t index) = 0;
  // The connection failed and its queued bytes were dropped.
  virtual void dropped(uint32_t /*index*/) {}
  // The socket is about to close.
  virtual void closing(int /*fd*/) {}
  // Waits until something happens or `wait` has passed: how many things did.
  virtual int wait(Clock::duration wait) = 0;
  // Hands the worker what the last wait found.
  virtual void handle(Clock::time_point now) = 0;

 protected:
  Worker& worker_;
};

std::unique_ptr<Transport> epoll_transport(Worker& worker);
std::unique_ptr<Transport> uring_transport(Worker& worker);

class Worker {
 public:
  using State = ConnectionState;
  Worker(Plan& plan, int first_connection, int connections, uint64_t seed);
  void run(int cpu);
  LoadResult& result() { return result_; }
  Clock::time_point finished() const { return finished_; }
  uint64_t in_flight() const { return in_flight_; }

  // What a transport reads and tells.
  Connection& connection(uint32_t index) { return connections_[index]; }
  size_t connection_count() const { return connections_.size(); }
  // A connecting socket is writable: whether it connected (else it failed).
  bool connect_succeeded(uint32_t index);
  void on_connected(uint32_t index, Clock::time_point now);
  // Bytes read, and the peer's EOF.
  void consume(uint32_t index, std::string_view data, Clock::time_point now);
  void on_eof(uint32_t index, Clock::time_point now);
  void fail(uint32_t index, uint64_t ErrorCounts::*cause, const std::string& what,
            Clock::time_point now, Clock::duration retry_after = {});

 private:
  using Due = std::pair<Clock::time_point, uint32_t>;

  void open(uint32_t index, Clock::time_point now);
  void close_socket(Connection& c);
  void try_send(uint32_t index, Clock::time_point now);
  void on_response(uint32_t index, Clock::time_point now);
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
  std::unique_ptr<Transport> transport_;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> due_;
  std::mt19937_64 random_;
  uint64_t in_flight_ = 0;
  bool window_open_ = false;
  Clock::duration wake_early_{0};
  LoadResult result_;
  Clock::time_point finished_;
};

}  // namespace cmb::loadgen::detail
