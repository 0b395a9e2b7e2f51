// The epoll transport of the load generator's worker (the default engine):
// each connection is registered once, edge-triggered for both directions;
// an edge drains the socket with recv and send until EAGAIN. The schedule,
// parsing and accounting are the worker's (worker.cpp).
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <system_error>

#include "loadgen/worker.hpp"

namespace cmb::loadgen::detail {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
constexpr int kMaxEvents = 256;

class EpollTransport final : public Transport {
 public:
  explicit EpollTransport(Worker& worker) : Transport(worker), sent_(worker.connection_count(), 0) {
    if (!epoll_) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  }

  void connecting(uint32_t index, Clock::time_point now) override;
  bool send(uint32_t index) override;
  void dropped(uint32_t index) override { sent_[index] = 0; }
  int wait(Clock::duration wait) override;
  void handle(Clock::time_point /*now*/) override {
    for (int i = 0; i < ready_; ++i) on_event(events_[i].data.u32, events_[i].events);
  }

 private:
  void on_event(uint32_t index, uint32_t events);
  // Reads until the socket is drained: EAGAIN, or a short read unless the
  // peer has shut down (`peer_shut`), whose EOF no later edge announces
  // (the server's rule too; see EventLoop::read_input).
  void read_some(uint32_t index, bool peer_shut);

  net::Fd epoll_{::epoll_create1(EPOLL_CLOEXEC)};
  std::vector<size_t> sent_;  // per connection: bytes of its `out` sent so far
  std::unique_ptr<char[]> buffer_ = std::make_unique<char[]>(kReadChunk);
  epoll_event events_[kMaxEvents];
  int ready_ = 0;             // events_ the last wait filled
  bool precise_wait_ = true;  // epoll_pwait2 works here (until it says ENOSYS)
};

void EpollTransport::connecting(uint32_t index, Clock::time_point now) {
  // Edge-triggered for both directions: registered once, never modified.
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u32 = index;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, worker_.connection(index).fd.get(), &ev) != 0)
    worker_.fail(index, &ErrorCounts::connect, "connect: " + error_text(errno), now,
                 kConnectRetryDelay);
}

// To the nanosecond with epoll_pwait2 (Linux 5.11), else in whole
// milliseconds (rounded up, so an open loop's sends would run up to a
// millisecond late).
int EpollTransport::wait(Clock::duration wait) {
  int n = -1;
  if (precise_wait_) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
    const timespec timeout{static_cast<time_t>(ns / 1'000'000'000),
                           static_cast<long>(ns % 1'000'000'000)};
    n = ::epoll_pwait2(epoll_.get(), events_, kMaxEvents, &timeout, nullptr);
    if (n < 0 && errno == ENOSYS) precise_wait_ = false;  // a kernel before 5.11
  }
  if (!precise_wait_) {
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
    n = ::epoll_wait(epoll_.get(), events_, kMaxEvents, static_cast<int>(ms));
  }
  ready_ = std::max(n, 0);
  return n;
}

void EpollTransport::on_event(uint32_t index, uint32_t events) {
  Connection& c = worker_.connection(index);
  if (c.state == ConnectionState::kConnecting) {
    if (!worker_.connect_succeeded(index) || (events & EPOLLOUT) == 0) return;
    worker_.on_connected(index, Clock::now());
    // Go on: this edge may also say the peer already wrote or closed.
  } else if (c.state == ConnectionState::kOpen && !c.out.empty() &&
             (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
    if (!send(index)) return;
  }
  if (c.state == ConnectionState::kOpen && (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)))
    read_some(index, (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0);
}

bool EpollTransport::send(uint32_t index) {
  Connection& c = worker_.connection(index);
  size_t& sent = sent_[index];
  while (sent < c.out.size()) {
    const ssize_t n = net::retry_on_eintr(
        [&] { return ::send(c.fd.get(), c.out.data() + sent, c.out.size() - sent, MSG_NOSIGNAL); });
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return true;  // the next EPOLLOUT edge continues
    } else {
      worker_.fail(index, &ErrorCounts::write, "write: " + error_text(errno), Clock::now());
      return false;
    }
  }
  c.out.clear();
  sent = 0;
  return true;
}

void EpollTransport::read_some(uint32_t index, bool peer_shut) {
  Connection& c = worker_.connection(index);
  while (c.state == ConnectionState::kOpen) {
    const ssize_t n =
        net::retry_on_eintr([&] { return ::recv(c.fd.get(), buffer_.get(), kReadChunk, 0); });
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        worker_.fail(index, &ErrorCounts::read, "read: " + error_text(errno), Clock::now());
      return;
    }
    const Clock::time_point now = Clock::now();
    if (n == 0) {
      worker_.on_eof(index, now);
      return;
    }
    worker_.consume(index, std::string_view(buffer_.get(), static_cast<size_t>(n)), now);
    if (static_cast<size_t>(n) < kReadChunk && !peer_shut) return;
  }
}

}  // namespace

std::unique_ptr<Transport> epoll_transport(Worker& worker) {
  return std::make_unique<EpollTransport>(worker);
}

}  // namespace cmb::loadgen::detail
