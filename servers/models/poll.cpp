// poll — one thread, non-blocking sockets, poll(): select without the 1024
// cap. Syscalls: poll over an array of pollfd the kernel scans in full on
// every call, then accept4/recv/send.
// Good at: hundreds of connections, portability.
// Breaks: O(connections) work per call, in the kernel and here, however few
// are ready: it degrades as connections grow where epoll does not.
#include <poll.h>

#include <unordered_map>

#include "servers/event_loop.hpp"

namespace cmb::servers {
namespace {

class PollPoller final : public Poller {
 public:
  bool add(int fd) override {
    index_[fd] = fds_.size();
    fds_.push_back({fd, POLLIN, 0});
    return true;
  }
  void update(int fd, bool want_read, bool want_write) override {
    const auto it = index_.find(fd);
    if (it == index_.end()) return;
    fds_[it->second].events =
        static_cast<short>((want_read ? POLLIN : 0) | (want_write ? POLLOUT : 0));
  }
  void remove(int fd) override {
    const auto it = index_.find(fd);
    if (it == index_.end()) return;
    const size_t slot = it->second;
    index_.erase(it);
    if (slot != fds_.size() - 1) {
      fds_[slot] = fds_.back();
      index_[fds_[slot].fd] = slot;
    }
    fds_.pop_back();
  }
  void wait(int timeout_ms, std::vector<Ready>& ready) override {
    ready.clear();
    const int n = ::poll(fds_.data(), fds_.size(), timeout_ms);
    if (n <= 0) return;
    for (const auto& p : fds_) {
      if (p.revents == 0) continue;
      const bool hangup = (p.revents & (POLLHUP | POLLERR | POLLNVAL)) != 0;
      ready.push_back({p.fd, (p.revents & POLLIN) != 0 || hangup,
                       (p.revents & POLLOUT) != 0 || hangup, hangup});
    }
  }

 private:
  std::vector<pollfd> fds_;
  std::unordered_map<int, size_t> index_;
};

}  // namespace

std::unique_ptr<Server> make_poll_server(const ServerConfig& config) {
  return make_event_loop_server(config, [] { return std::make_unique<PollPoller>(); });
}

}  // namespace cmb::servers
