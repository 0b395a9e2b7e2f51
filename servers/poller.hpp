// Readiness notification behind one small interface (muduo's Poller): the
// event loop is written once, and select, poll and epoll differ only here.
// Used from its loop's thread only.
#pragma once

#include <vector>

namespace cmb::servers {

class Poller {
 public:
  struct Ready {
    int fd;
    // Errors and hang-ups set both, so the next recv or send reports them.
    bool readable;
    bool writable;
    // The peer is gone both ways (POLLHUP, EPOLLHUP, an error): level-triggered
    // pollers report it whatever the interest, so the loop closes at once.
    bool hangup = false;
    // The peer shut down its side (EPOLLRDHUP), so a short read is not the
    // end: the loop must read on to see the EOF, which no new edge announces.
    bool peer_shutdown = false;
  };

  virtual ~Poller() = default;

  // Starts watching `fd` for reading. False when this poller cannot watch it
  // (select: fd >= FD_SETSIZE); the caller must then not use it here.
  virtual bool add(int fd) = 0;
  // Starts watching a listening socket, which other loops may watch too.
  virtual bool add_listener(int fd) { return add(fd); }
  // Sets what `fd` is watched for. Edge-triggered pollers may ignore it: the
  // loop reads and writes until EAGAIN and retries on its own when it
  // resumes reading, so edges are never lost.
  virtual void update(int fd, bool want_read, bool want_write) = 0;
  virtual void remove(int fd) = 0;
  // Edge-triggered pollers report every new write to an eventfd, read or
  // not; level-triggered ones report it until it is read.
  virtual bool edge_triggered() const { return false; }
  // Waits up to `timeout_ms` (-1: no limit) and replaces `ready`.
  virtual void wait(int timeout_ms, std::vector<Ready>& ready) = 0;
};

}  // namespace cmb::servers
