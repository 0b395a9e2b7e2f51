// One thread's readiness loop over non-blocking sockets: accept, read, run
// the shared session, write, and arm timers for non-blocking waits. The
// select, poll, epoll, epoll-workers, reuseport, epoll-exclusive and amped
// models differ only in the Poller they pass, how many loops they run, and
// what a HandlerPool runs for them. run() and everything else but
// post_completion() belong to the loop's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "net/fd.hpp"
#include "net/socket.hpp"
#include "servers/handler_pool.hpp"
#include "servers/http_session.hpp"
#include "servers/limits.hpp"
#include "servers/poller.hpp"
#include "servers/server.hpp"
#include "servers/timer_queue.hpp"

namespace cmb::servers {

// What a HandlerPool runs for an event loop.
enum class PoolWork {
  kEveryRequest,  // half-sync/half-async: the loop hands over every request
  kBlockingOnly,  // AMPED: the loop runs the rest and hands over only blocking calls
};

class EventLoop {
 public:
  struct Options {
    int listen_fd = -1;
    const StopSignal* stop = nullptr;
    Limits limits;
    ConnectionGate* gate = nullptr;  // shared by the server's loops
    HandlerPool* pool = nullptr;     // null: the handler runs on the loop thread
    PoolWork pool_work = PoolWork::kEveryRequest;
  };

  EventLoop(std::unique_ptr<Poller> poller, const Options& options);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Serves until the stop signal; connections close when the loop is destroyed.
  void run();

 private:
  struct Connection;
  struct Completion {
    int fd;
    uint64_t generation;
    std::chrono::microseconds wait;
    bool more_input;  // requests may follow in the input: process again
  };

  void accept_all();
  void on_ready(const Poller::Ready& ready);
  void drive(Connection& c);
  bool read_input(Connection& c);
  bool flush(Connection& c);
  bool can_read(const Connection& c) const;
  bool can_process(const Connection& c) const;
  void update_interest(Connection& c);
  void close(Connection& c);
  // The pool runs what `pool_work` says, then hands the connection back.
  void hand_to_pool(Connection& c);
  void post_completion(const Completion& completion);  // any thread
  void take_completions();
  void fire_timers();
  void expire_idle();
  int next_timeout_ms();
  Connection* find(int fd, uint64_t generation);

  std::unique_ptr<Poller> poller_;
  Options options_;
  net::Acceptor acceptor_;
  net::Fd wake_;  // eventfd: pool threads post completions through it
  std::mutex completions_mutex_;
  std::vector<Completion> completions_;
  TimerQueue timers_;
  std::vector<std::unique_ptr<Connection>> connections_;  // indexed by fd
  uint64_t next_generation_ = 1;
  HttpSession::Clock::time_point next_sweep_;
  // Accepting stopped for lack of descriptors with connections maybe still
  // queued. An edge-triggered listener gives no new edge for them (and none
  // at all once its queue is full), so the loop retries after it closes a
  // connection and at every sweep (another loop may free descriptors).
  bool accept_backlogged_ = false;
  bool retry_accept_ = false;  // a descriptor may have been freed since
};

// How the loops of one server take new connections.
enum class Listeners {
  kOnePerLoop,  // each loop its own SO_REUSEPORT listener: the kernel spreads connections
  kShared,      // every loop watches the server's one listener (the poller decides who wakes)
};

// A server of `loops` event loops on as many threads (the first on the
// calling thread), taking connections as `listeners` says; with `workers`
// > 0 a HandlerPool of that many threads runs what `pool_work` says.
std::unique_ptr<Server> make_event_loop_server(const ServerConfig& config,
                                               std::function<std::unique_ptr<Poller>()> make_poller,
                                               int loops = 1, int workers = 0,
                                               Listeners listeners = Listeners::kOnePerLoop,
                                               PoolWork pool_work = PoolWork::kEveryRequest);

}  // namespace cmb::servers
