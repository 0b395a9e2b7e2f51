// The server's own view, counted by cause: requests answered, connections
// refused, connections timed out, requests rejected. One set per `cmbench
// serve` process tree, in memory shared with forked children (prefork,
// fork-per-connection), so what a child counts reaches the parent. Any
// thread of any process of the tree may count; lock-free, and sharded so
// that threads on different cores do not fight over one cache line.
#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "net/fd.hpp"
#include "net/socket.hpp"
#include "servers/stages/stages.hpp"

namespace cmb::servers {

// Counters are kept per thread, in this many slots (threads beyond share).
inline constexpr int kCounterSlots = 64;

struct CounterValues {
  uint64_t requests = 0;   // answered with the workload's response
  uint64_t refused = 0;    // connections refused: 503 (no place, thread or process), shed at
                           // EMFILE, closed at FD_SETSIZE
  uint64_t timed_out = 0;  // connections closed at the header timeout (408, or idle)
  uint64_t rejected = 0;   // requests answered 4xx/5xx for bad input
  uint64_t accepted = 0;   // connections accepted (then admitted or refused)
  // Accepted per thread (a forked child is a thread of its own): the slots
  // of acceptor_slots, whose bit i is set once slot i's thread took
  // connections or registered as an acceptor (so a loop that got none shows
  // its zero).
  std::array<uint64_t, kCounterSlots> accepted_by_slot{};
  uint64_t acceptor_slots = 0;
  // Each stage's histogram over every request answered with the workload's
  // response (servers/stages.hpp), in Stage order.
  std::array<StageHistogram, kStages> stages{};
  // What waits for a worker in each stage at the reading, in Stage order.
  std::array<WaitingWork, kStages> waiting{};

  // accepted_by_slot of the acceptor slots, in slot order.
  std::vector<uint64_t> accepted_by_thread() const;
  // What each stage recorded since an earlier reading.
  std::array<StageHistogram, kStages> stages_since(const CounterValues& earlier) const;
};

enum class Counter { kRequests, kRefused, kTimedOut, kRejected, kAccepted };

// Adds one to `counter` for this process tree (kAccepted: for this thread).
void count(Counter counter) noexcept;

// One request spent `time` in `stage` (for this process tree).
void record_stage(Stage stage, std::chrono::nanoseconds time) noexcept;

// Something (a request, or a connection before its request is read) starts
// or stops waiting in `stage` for a worker, waiting since `since`: read as
// CounterValues::waiting. Each leave_wait matches an enter_wait's `since`.
void enter_wait(Stage stage, std::chrono::steady_clock::time_point since) noexcept;
void leave_wait(Stage stage, std::chrono::steady_clock::time_point since) noexcept;

// This thread takes connections: its accept count is reported even at zero.
void register_acceptor() noexcept;

// The sums so far over every thread and process of the tree.
CounterValues read_counters() noexcept;

// Maps the shared counters if that has not happened yet: in `fd` (a file
// another process maps too: `cmbench serve --counters-fd`, so a harness
// reads them without asking), or in a memfd of its own named
// kCounterFileName (which `cmbench load --server-pid` finds). Server's
// constructor calls it, so that children forked later share them.
void init_counters(int fd = -1);
inline constexpr const char* kCounterFileName = "cmbench-counters";

// A server's counters, read from here at any instant. Throws
// std::system_error when the memory cannot be had.
class CounterFile {
 public:
  // New counters, for a server started with --counters-fd fd().
  CounterFile();
  // The counters of process `pid` on this machine (a `cmbench serve`),
  // read-only, through its memfd in /proc/PID/fd. Throws
  // std::runtime_error when it has none.
  static CounterFile of_process(int pid);
  ~CounterFile();
  CounterFile(CounterFile&& other) noexcept
      : fd_(std::move(other.fd_)), mapping_(std::exchange(other.mapping_, nullptr)) {}
  CounterFile(const CounterFile&) = delete;
  CounterFile& operator=(const CounterFile&) = delete;

  int fd() const { return fd_.get(); }
  CounterValues read() const noexcept;

 private:
  CounterFile(net::Fd fd, void* mapping) : fd_(std::move(fd)), mapping_(mapping) {}
  net::Fd fd_;
  void* mapping_ = nullptr;
};

// An Acceptor whose connections shed at EMFILE count as refused.
net::Acceptor make_acceptor(int listen_fd, bool nonblocking);

}  // namespace cmb::servers
