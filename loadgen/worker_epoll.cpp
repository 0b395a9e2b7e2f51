// The epoll transport of the load generator's worker (the default
// engine): each connection is registered once, edge-triggered for both
// directions; an edge drains the socket with recv and send until EAGAIN.
// The schedule, parsing and accounting are the worker's (worker.cpp);
// worker_uring.cpp is the other transport.
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>

#include "loadgen/worker.hpp"

namespace cmb::loadgen::detail {

void Worker::watch(uint32_t index, Clock::time_point now) {
  // Edge-triggered for both directions: registered once, never modified.
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u32 = index;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, connections_[index].fd.get(), &ev) != 0)
    fail(index, &ErrorCounts::connect, "connect: " + error_text(errno), now, kConnectRetryDelay);
}

int Worker::wait_for_events(epoll_event* events, Clock::duration wait) {
  if (precise_wait_) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
    const timespec timeout{static_cast<time_t>(ns / 1'000'000'000),
                           static_cast<long>(ns % 1'000'000'000)};
    const int n = ::epoll_pwait2(epoll_.get(), events, kMaxEvents, &timeout, nullptr);
    if (n >= 0 || errno != ENOSYS) return n;
    precise_wait_ = false;  // a kernel before 5.11: milliseconds it is
  }
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
  return ::epoll_wait(epoll_.get(), events, kMaxEvents, static_cast<int>(ms));
}

void Worker::on_event(uint32_t index, uint32_t events) {
  Connection& c = connections_[index];
  if (c.state == State::kConnecting) {
    int error = 0;
    socklen_t length = sizeof error;
    ::getsockopt(c.fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
    const Clock::time_point now = Clock::now();
    if (error != 0) {
      fail(index, &ErrorCounts::connect, "connect: " + error_text(error), now, kConnectRetryDelay);
      return;
    }
    if ((events & EPOLLOUT) == 0) return;
    c.state = State::kOpen;
    if (window_open_) result_.connect_latency.record(nanos(now - c.connect_started));
    if (uring_) arm_recv(index);
    try_send(index, now);
    // Fall through: this edge may also say the peer already wrote or closed.
  } else if (c.state == State::kOpen && !c.out.empty() &&
             (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
    if (!write_some(index)) return;
  }
  if (c.state == State::kOpen && (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)))
    read_some(index, (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0);
}

bool Worker::send_some(uint32_t index) {
  Connection& c = connections_[index];
  while (c.out_sent < c.out.size()) {
    const ssize_t n = net::retry_on_eintr([&] {
      return ::send(c.fd.get(), c.out.data() + c.out_sent, c.out.size() - c.out_sent, MSG_NOSIGNAL);
    });
    if (n > 0) {
      c.out_sent += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return true;  // the next EPOLLOUT edge continues
    } else {
      fail(index, &ErrorCounts::write, "write: " + error_text(errno), Clock::now());
      return false;
    }
  }
  c.out.clear();
  c.out_sent = 0;
  return true;
}

void Worker::read_some(uint32_t index, bool peer_shut) {
  Connection& c = connections_[index];
  while (c.state == State::kOpen) {
    const ssize_t n =
        net::retry_on_eintr([&] { return ::recv(c.fd.get(), buffer_.get(), kReadChunk, 0); });
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        fail(index, &ErrorCounts::read, "read: " + error_text(errno), Clock::now());
      return;
    }
    const Clock::time_point now = Clock::now();
    if (n == 0) {
      on_eof(index, now);
      return;
    }
    consume(index, std::string_view(buffer_.get(), static_cast<size_t>(n)), now);
    if (static_cast<size_t>(n) < kReadChunk && !peer_shut) return;
  }
}

}  // namespace cmb::loadgen::detail
