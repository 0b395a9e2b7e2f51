#include "servers/epoll_poller.hpp"

#include <sys/epoll.h>

#include <system_error>

namespace cmb::servers {

EpollPoller::EpollPoller(bool exclusive_listener)
    : epoll_(::epoll_create1(EPOLL_CLOEXEC)), exclusive_listener_(exclusive_listener) {
  if (!epoll_) throw std::system_error(errno, std::generic_category(), "epoll_create1");
}

bool EpollPoller::add(int fd) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.fd = fd;
  return ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool EpollPoller::add_listener(int fd) {
  if (!exclusive_listener_) return add(fd);
  epoll_event ev{};
  // EPOLLEXCLUSIVE takes only EPOLLIN, EPOLLOUT, EPOLLWAKEUP and EPOLLET with it.
  ev.events = EPOLLIN | EPOLLET | EPOLLEXCLUSIVE;
  ev.data.fd = fd;
  return ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) == 0;
}

void EpollPoller::remove(int fd) { ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr); }

void EpollPoller::wait(int timeout_ms, std::vector<Ready>& ready) {
  epoll_event events[512];
  ready.clear();
  const int n = ::epoll_wait(epoll_.get(), events, 512, timeout_ms);
  for (int i = 0; i < n; ++i) {
    const uint32_t e = events[i].events;
    const bool error = (e & (EPOLLERR | EPOLLHUP)) != 0;
    ready.push_back({events[i].data.fd, (e & (EPOLLIN | EPOLLRDHUP)) != 0 || error,
                     (e & EPOLLOUT) != 0 || error, error, (e & EPOLLRDHUP) != 0 || error});
  }
}

}  // namespace cmb::servers
