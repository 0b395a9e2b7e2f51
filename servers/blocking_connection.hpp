// Serves one connection to its end in straight-line code: the
// per-connection loop of the iterative, thread-per-connection, thread-pool,
// prefork and fork models, which block their thread, and of the fiber
// model, which parks its fiber.
#pragma once

#include <chrono>
#include <optional>

#include "net/fd.hpp"
#include "net/http_request.hpp"
#include "servers/http_session.hpp"
#include "servers/limits.hpp"
#include "servers/server.hpp"

namespace cmb::servers {

// How a connection's code waits: its thread in poll(2), or its fiber parked
// until the carrier's poller wakes it.
class Waiting {
 public:
  virtual ~Waiting() = default;
  // Until `fd` may be ready for `events` (POLLIN or POLLOUT), the server
  // stops, or `timeout_ms` passes (-1: no limit). True when it may be
  // ready: the caller tries its call and waits again on EAGAIN.
  virtual bool until_ready(int fd, short events, int timeout_ms) = 0;
  // The last call took all there was (EAGAIN, or a read shorter than asked
  // for): the next until_ready() for `events` waits for new readiness. A
  // poller that reports edges needs this; poll(2) does not.
  virtual void drained(short /*events*/) {}
  virtual bool stopped() const = 0;
  // kBlock: process() sleeps through wait_us on the thread. kDefer: it
  // returns the wait for sleep(), which returns false when stopped.
  virtual HttpSession::WaitPolicy wait_policy() const { return HttpSession::WaitPolicy::kBlock; }
  virtual bool sleep(std::chrono::microseconds) { return true; }
};

// Reads requests, runs the handler inline (sleep_us and cpu_us take the
// calling thread; they end early once `interrupt_fd` is readable), writes
// responses, as serve_blocking() does, waiting as `waiting` says. The
// caller owns and closes `fd`.
void serve_connection(int fd, Waiting& waiting, const Limits& limits, int interrupt_fd);

// Reads requests, runs the handler inline (sleeps and waits block this
// thread), writes responses. Returns when the client closes, a response
// closes the connection, an I/O error occurs, the client makes no progress
// for limits.header_timeout, or `stop` is notified; the connection is
// closed on return.
void serve_blocking(net::Fd connection, const StopSignal& stop, const Limits& limits);

// A connection accepted and given a place under Limits::max_connections.
struct Admitted {
  net::Fd fd;
  ConnectionGate::Ticket ticket;
};

// The accept step of the blocking models: waits for the listener, accepts
// and admits (a connection over the limit is answered 503 and skipped, one
// shed or failed is skipped); std::nullopt once `stop` is notified. When
// several threads or processes wait on one listener, every idle one wakes
// and those that lose the race go back to waiting.
std::optional<Admitted> accept_next(net::Acceptor& acceptor, int listen_fd, const StopSignal& stop,
                                    ConnectionGate& gate);

// thread-per-connection's loop: accepts until `stop` is notified and
// serves each connection with serve_blocking() on a new thread of its own;
// returns once every such thread has ended. When no thread can be created
// the client is answered 503. A model that sets its listener up its own
// way reuses it (examples/out-of-tree-model: TCP_DEFER_ACCEPT).
void serve_thread_per_connection(int listen_fd, const StopSignal& stop, ConnectionGate& gate,
                                 const Limits& limits);

// Blocks until `fd` is readable, `stop` is notified, or `timeout_ms` passes
// (-1: no limit); true only when readable.
bool wait_readable(int fd, const StopSignal& stop, int timeout_ms = -1);

}  // namespace cmb::servers
