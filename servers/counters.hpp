// The server's own view, counted by cause: requests answered, connections
// refused, connections timed out, requests rejected. One set per `cmbench
// serve` process tree, in memory shared with forked children (prefork,
// fork-per-connection), so what a child counts reaches the parent. Any
// thread of any process of the tree may count; lock-free, and sharded so
// that threads on different cores do not fight over one cache line.
#pragma once

#include <cstdint>

#include "net/fd.hpp"
#include "net/socket.hpp"

namespace cmb::servers {

struct CounterValues {
  uint64_t requests = 0;   // answered with the workload's response
  uint64_t refused = 0;    // connections refused: 503 (no place, thread or process), shed at
                           // EMFILE, closed at FD_SETSIZE
  uint64_t timed_out = 0;  // connections closed at the header timeout (408, or idle)
  uint64_t rejected = 0;   // requests answered 4xx/5xx for bad input
};

enum class Counter { kRequests, kRefused, kTimedOut, kRejected };

// Adds one to `counter` for this process tree.
void count(Counter counter) noexcept;

// The sums so far over every thread and process of the tree.
CounterValues read_counters() noexcept;

// Maps the shared counters if that has not happened yet: in anonymous
// shared memory, or in `fd` (a file another process maps too: `cmbench
// serve --counters-fd`, so a harness reads them without asking). Server's
// constructor calls it, so that children forked later share them.
void init_counters(int fd = -1);

// The counters of a server started with --counters-fd fd(), read from here
// at any instant. Throws std::system_error when the memory cannot be had.
class CounterFile {
 public:
  CounterFile();
  ~CounterFile();
  CounterFile(const CounterFile&) = delete;
  CounterFile& operator=(const CounterFile&) = delete;

  int fd() const { return fd_.get(); }
  CounterValues read() const noexcept;

 private:
  net::Fd fd_;
  void* mapping_ = nullptr;
};

// An Acceptor whose connections shed at EMFILE count as refused.
net::Acceptor make_acceptor(int listen_fd, bool nonblocking);

}  // namespace cmb::servers
