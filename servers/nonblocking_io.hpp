// Moving bytes between a non-blocking socket and its session, for the
// models that wait for readiness before they read or write (the event
// loops, leader/followers). Not for io_uring or Asio, which complete
// operations instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "net/fd.hpp"
#include "servers/http_session.hpp"
#include "servers/limits.hpp"

namespace cmb::servers {

// What a readiness model keeps per socket: the socket, its place under
// Limits::max_connections, a generation that tells it from a later socket
// on the same descriptor, and its session.
struct SessionSocket {
  SessionSocket(net::Fd socket, ConnectionGate::Ticket place, uint64_t gen, const Limits& limits,
                int interrupt_fd)
      : fd(std::move(socket)),
        ticket(std::move(place)),
        generation(gen),
        session(limits, interrupt_fd) {}

  net::Fd fd;
  ConnectionGate::Ticket ticket;
  uint64_t generation;
  HttpSession session;
};

enum class ReadOutcome {
  kDrained,  // EAGAIN, or a short read: nothing more until the next readiness
  kMore,     // stopped at the cap: more may be waiting
  kEof,      // the peer shut down its side
  kError,    // reset or another error: the connection is over
};
struct ReadResult {
  ReadOutcome outcome;
  size_t bytes;  // committed to the session's input, whatever the outcome
};

// Reads into the session's input until EAGAIN, EOF, an error, `max_bytes`,
// or a read that returns less than it asked for. Such a read has drained a
// TCP socket (nginx's rule): what arrives later is new readiness, so the
// read that would only say EAGAIN is skipped -- a third of the syscalls of
// a keep-alive request. Not when `until_eof` (the peer has shut down: the
// EOF behind the data gets no readiness of its own).
ReadResult read_nonblocking(int fd, HttpSession& session, size_t max_bytes, bool until_eof);

enum class FlushOutcome {
  kFlushed,  // the output is all sent
  kBlocked,  // the socket is full: wait until it is writable
  kError,    // the connection is over
};
FlushOutcome flush_nonblocking(int fd, HttpSession& session);

}  // namespace cmb::servers
