#include "loadgen/idle.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace cmb::loadgen {
namespace {

using Clock = std::chrono::steady_clock;

bool is_loopback_v4(const net::Address& address) {
  if (address.storage.ss_family != AF_INET) return false;
  const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address.storage);
  return (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
}

// 127.0.0.2, 127.0.0.3, ... one per kPerSourceAddress connections; the port
// is left to connect(), which may then reuse it towards another address.
bool bind_source(int fd, int index) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  sockaddr_in source{};
  source.sin_family = AF_INET;
  source.sin_addr.s_addr =
      htonl((127u << 24) + 2u + static_cast<uint32_t>(index / IdleConnections::kPerSourceAddress));
  return ::bind(fd, reinterpret_cast<const sockaddr*>(&source), sizeof source) == 0;
}

}  // namespace

IdleConnections::IdleConnections(const net::Address& address, int count,
                                 std::chrono::milliseconds timeout) {
  net::Fd epoll(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll) {
    fail(std::string("epoll_create1: ") + std::strerror(errno), count);
    return;
  }
  for (int first = 0; first < count && failed_ == 0; first += kWave)
    connect_wave(epoll.get(), address, first, std::min(kWave, count - first), timeout);
  if (failed_ > 0)  // the waves not started failed with the one that did
    failed_ = count - open();
}

void IdleConnections::fail(const std::string& why, int how_many) {
  failed_ += how_many;
  if (first_error_.empty()) first_error_ = why;
}

void IdleConnections::connect_wave(int epoll, const net::Address& address, int first, int count,
                                   std::chrono::milliseconds timeout) {
  const bool spread = is_loopback_v4(address);
  std::vector<net::Fd> pending;
  for (int i = first; i < first + count; ++i) {
    net::Fd fd(::socket(address.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {  // out of descriptors: so are the rest
      fail(std::string("socket: ") + std::strerror(errno), first + count - i);
      break;
    }
    if (spread && !bind_source(fd.get(), i)) {
      fail(std::string("bind: ") + std::strerror(errno));
      continue;
    }
    if (::connect(fd.get(), address.get(), address.length) == 0) {
      sockets_.push_back(std::move(fd));
      continue;
    }
    if (errno != EINPROGRESS) {
      fail(std::string("connect: ") + std::strerror(errno));
      continue;
    }
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLET;
    ev.data.u64 = pending.size();
    if (::epoll_ctl(epoll, EPOLL_CTL_ADD, fd.get(), &ev) != 0) {
      fail(std::string("epoll_ctl: ") + std::strerror(errno));
      continue;
    }
    pending.push_back(std::move(fd));
  }
  size_t unresolved = pending.size();
  const auto deadline = Clock::now() + timeout;
  epoll_event events[1024];
  while (unresolved > 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    const int n = ::epoll_wait(epoll, events, 1024, static_cast<int>(left));
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      net::Fd& fd = pending[events[i].data.u64];
      if (!fd) continue;
      int error = 0;
      socklen_t length = sizeof error;
      ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
      ::epoll_ctl(epoll, EPOLL_CTL_DEL, fd.get(), nullptr);
      if (error == 0)
        sockets_.push_back(std::move(fd));
      else
        fail(std::string("connect: ") + std::strerror(error));
      fd.reset();
      --unresolved;
    }
  }
  if (unresolved > 0)
    fail("not connected within " + std::to_string(timeout.count()) + " ms",
         static_cast<int>(unresolved));
}

int IdleConnections::closed_by_server() const {
  int closed = 0;
  std::vector<pollfd> batch;
  for (size_t at = 0; at < sockets_.size(); at += batch.size()) {
    batch.clear();
    for (size_t i = at; i < sockets_.size() && batch.size() < 4096; ++i)
      batch.push_back({sockets_[i].get(), POLLIN, 0});
    if (::poll(batch.data(), batch.size(), 0) > 0)
      for (const auto& p : batch) closed += p.revents != 0 ? 1 : 0;
  }
  return closed;
}

}  // namespace cmb::loadgen
