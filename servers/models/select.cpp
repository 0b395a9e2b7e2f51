// select — one thread, non-blocking sockets, select(): the readiness loop of
// the 1980s. Syscalls: select over fd_set bitmaps rebuilt every call, then
// accept4/recv/send. A descriptor >= FD_SETSIZE (1024) cannot be put in an
// fd_set: such a connection is refused (closed and counted), never passed
// to FD_SET, which would write past the bitmap.
// Good at: a handful of connections, portability.
// Breaks: O(highest descriptor) work per call, and a hard cap of 1024.
#include <sys/select.h>

#include <algorithm>
#include <set>

#include "servers/event_loop.hpp"

namespace cmb::servers {
namespace {

class SelectPoller final : public Poller {
 public:
  bool add(int fd) override {
    if (fd < 0 || fd >= FD_SETSIZE) return false;
    FD_SET(fd, &read_);
    fds_.insert(fd);
    return true;
  }
  void update(int fd, bool want_read, bool want_write) override {
    if (want_read)
      FD_SET(fd, &read_);
    else
      FD_CLR(fd, &read_);
    if (want_write)
      FD_SET(fd, &write_);
    else
      FD_CLR(fd, &write_);
  }
  void remove(int fd) override {
    FD_CLR(fd, &read_);
    FD_CLR(fd, &write_);
    fds_.erase(fd);
  }
  void wait(int timeout_ms, std::vector<Ready>& ready) override {
    ready.clear();
    fd_set readable = read_, writable = write_;
    const int highest = fds_.empty() ? -1 : *fds_.rbegin();
    timeval timeout{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    const int n =
        ::select(highest + 1, &readable, &writable, nullptr, timeout_ms < 0 ? nullptr : &timeout);
    if (n <= 0) return;
    for (int fd : fds_) {
      const bool r = FD_ISSET(fd, &readable), w = FD_ISSET(fd, &writable);
      if (r || w) ready.push_back({fd, r, w});
    }
  }

 private:
  fd_set read_{};
  fd_set write_{};
  std::set<int> fds_;
};

}  // namespace

std::unique_ptr<Server> make_select_server(const ServerConfig& config) {
  return make_event_loop_server(config, [] { return std::make_unique<SelectPoller>(); });
}

}  // namespace cmb::servers
