// Edge-triggered epoll: each socket is registered once for reading and
// writing and never modified; the loop reads and writes until EAGAIN.
// O(ready) per wait, whatever the number of connections. With
// `exclusive_listener`, a listening socket that several loops share is
// registered with EPOLLEXCLUSIVE: a new connection wakes one waiting loop,
// not all of them (nginx's default accept mode).
#pragma once

#include "net/fd.hpp"
#include "servers/poller.hpp"

namespace cmb::servers {

class EpollPoller final : public Poller {
 public:
  explicit EpollPoller(bool exclusive_listener = false);
  bool add(int fd) override;
  bool add_listener(int fd) override;
  void update(int, bool, bool) override {}  // edge-triggered: interest is fixed
  void remove(int fd) override;
  bool edge_triggered() const override { return true; }
  void wait(int timeout_ms, std::vector<Ready>& ready) override;

 private:
  net::Fd epoll_;
  bool exclusive_listener_;
};

}  // namespace cmb::servers
