#include "servers/blocking_connection.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <thread>

#include "net/socket.hpp"
#include "servers/counters.hpp"

namespace cmb::servers {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
// How long a closing connection drains what the client still sends, so that
// unread bytes do not turn our close into a reset that destroys the response.
constexpr int kLingerMillis = 200;

// Waits for `events` on `fd` or for stop; true when the socket is ready.
bool wait_for(int fd, short events, const StopSignal& stop, int timeout_ms = -1) {
  pollfd fds[2] = {{fd, events, 0}, {stop.fd(), POLLIN, 0}};
  const int n = net::retry_on_eintr([&] { return ::poll(fds, 2, timeout_ms); });
  return n > 0 && fds[1].revents == 0 && fds[0].revents != 0;
}

// A thread blocked in poll(2) next to the stop signal.
class ThreadWaiting final : public Waiting {
 public:
  explicit ThreadWaiting(const StopSignal& stop) : stop_(stop) {}
  bool until_ready(int fd, short events, int timeout_ms) override {
    return wait_for(fd, events, stop_, timeout_ms);
  }
  bool stopped() const override { return stop_.notified(); }

 private:
  const StopSignal& stop_;
};

constexpr std::chrono::milliseconds kExhaustedPause{100};

// Milliseconds until the session's deadline (at least 0), -1 when it has none.
int millis_left(const HttpSession& session) {
  const auto deadline = session.deadline();
  if (!deadline) return -1;
  const auto left =
      std::chrono::ceil<std::chrono::milliseconds>(*deadline - HttpSession::Clock::now());
  return static_cast<int>(std::clamp<int64_t>(left.count(), 0, INT32_MAX));
}

// Writes all pending output; false when the peer is gone, stops reading for
// longer than the header timeout, or stop was asked.
bool flush(int fd, HttpSession& session, Waiting& waiting) {
  while (session.has_output()) {
    const std::string_view out = session.pending_output();
    const ssize_t n = net::retry_on_eintr(
        [&] { return ::send(fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT); });
    if (n > 0) {
      session.consume_output(static_cast<size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      waiting.drained(POLLOUT);
      if (!waiting.until_ready(fd, POLLOUT, millis_left(session))) return false;
    } else {
      return false;
    }
  }
  return true;
}

// Only when the client may still be sending (unparsed bytes, or bytes
// waiting): closing with unread data makes the kernel send a reset.
void linger_close(int fd, bool unread_input, Waiting& waiting) {
  ::shutdown(fd, SHUT_WR);
  pollfd p{fd, POLLIN, 0};
  if (!unread_input && ::poll(&p, 1, 0) == 0) return;
  char discard[4096];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kLingerMillis);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !waiting.until_ready(fd, POLLIN, static_cast<int>(left.count())))
      return;
    const ssize_t n = ::recv(fd, discard, sizeof discard, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) return;
    if (n < static_cast<ssize_t>(sizeof discard)) waiting.drained(POLLIN);
  }
}

}  // namespace

void serve_connection(int fd, Waiting& waiting, const Limits& limits, int interrupt_fd) {
  HttpSession session(limits, interrupt_fd);
  for (;;) {
    if (!waiting.until_ready(fd, POLLIN, millis_left(session))) {
      if (waiting.stopped()) return;
      // The coarse clock may not have reached the deadline the poll did.
      if (!session.expired(HttpSession::Clock::now())) continue;
      (void)session.time_out();  // slowloris or idle: a 408 if it sent part of a request
      if (flush(fd, session, waiting)) linger_close(fd, true, waiting);
      return;
    }
    char* space = session.input().prepare(kReadChunk);
    const size_t asked = session.input().writable();
    const auto [n, kernel_ns] = net::receive(fd, space, asked, MSG_DONTWAIT, session.attributed());
    if (n == 0) return;  // the client closed
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) return;  // reset or other error: it is over
      waiting.drained(POLLIN);
      continue;
    }
    if (static_cast<size_t>(n) < asked) waiting.drained(POLLIN);
    session.commit_input(static_cast<size_t>(n), kernel_ns);
    // A long pipeline is handled a bounded batch of responses at a time; a
    // deferred wait is slept here, and the requests behind it handled after.
    for (;;) {
      const auto wait = session.process(waiting.wait_policy());
      if (wait.count() > 0) {
        if (!flush(fd, session, waiting) || !waiting.sleep(wait)) return;
        session.finish_wait();
        continue;
      }
      if (!flush(fd, session, waiting)) return;
      if (!session.backlogged()) break;
    }
    if (session.closing()) {
      linger_close(fd, !session.input().empty(), waiting);
      return;
    }
  }
}

std::optional<Admitted> accept_next(net::Acceptor& acceptor, int listen_fd, const StopSignal& stop,
                                    ConnectionGate& gate) {
  while (wait_readable(listen_fd, stop)) {
    auto accepted = acceptor.accept();
    if (accepted.outcome == net::Acceptor::Outcome::kExhausted) {
      // The listener stays readable while no descriptor is free: pause
      // (or stop) instead of failing in a loop.
      (void)wait_for(listen_fd, 0, stop, static_cast<int>(kExhaustedPause.count()));
      continue;
    }
    if (accepted.outcome != net::Acceptor::Outcome::kAccepted) continue;
    if (auto ticket = gate.admit(accepted.fd.get()))
      return Admitted{std::move(accepted.fd), std::move(ticket)};
  }
  return std::nullopt;
}

bool wait_readable(int fd, const StopSignal& stop, int timeout_ms) {
  return wait_for(fd, POLLIN, stop, timeout_ms);
}

void serve_blocking(net::Fd connection, const StopSignal& stop, const Limits& limits) {
  try {
    ThreadWaiting waiting(stop);
    serve_connection(connection.get(), waiting, limits, stop.fd());
  } catch (const std::bad_alloc&) {
    // No memory (or address space) left for this connection's buffers: it
    // gets a 503 and the server goes on, as when no thread can be made.
    refuse_unavailable(connection.get());
  }
}

namespace {
// Shared with the detached connection threads, so it outlives the loop if
// a thread is still unwinding when it returns.
struct ActiveThreads {
  std::mutex mutex;
  std::condition_variable all_done;
  int count = 0;
};
}  // namespace

void serve_thread_per_connection(int listen_fd, const StopSignal& stop, ConnectionGate& gate,
                                 const Limits& limits) {
  auto active = std::make_shared<ActiveThreads>();
  net::Acceptor acceptor = make_acceptor(listen_fd, /*nonblocking=*/false);
  while (auto next = accept_next(acceptor, listen_fd, stop, gate)) {
    {
      std::lock_guard lock(active->mutex);
      ++active->count;
    }
    // The new thread takes the descriptor; if no thread can be created it
    // stays here, so the client can be told.
    const int fd = next->fd.get();
    try {
      std::thread([&stop, &limits, active, fd, ticket = std::move(next->ticket)]() mutable {
        serve_blocking(net::Fd(fd), stop, limits);
        // Give the place back while the server (which owns the gate) is
        // certainly alive: the loop may return once the count below is zero.
        ticket = ConnectionGate::Ticket();
        std::lock_guard lock(active->mutex);
        if (--active->count == 0) active->all_done.notify_all();
      }).detach();
      next->fd.release();
    } catch (const std::exception&) {  // std::system_error, or std::bad_alloc for its state
      std::lock_guard lock(active->mutex);
      --active->count;
      refuse_unavailable(fd);
    }
  }
  std::unique_lock lock(active->mutex);
  active->all_done.wait(lock, [&] { return active->count == 0; });
}

}  // namespace cmb::servers
