// Serves one connection to its end with blocking calls on the calling thread:
// the per-connection loop of the iterative, thread-per-connection,
// thread-pool, prefork and fork models.
#pragma once

#include <optional>

#include "net/fd.hpp"
#include "net/http_request.hpp"
#include "servers/limits.hpp"
#include "servers/server.hpp"

namespace cmb::servers {

// Reads requests, runs the handler inline (sleeps and waits block this
// thread), writes responses. Returns when the client closes, a response
// closes the connection, an I/O error occurs, the client makes no progress
// for limits.header_timeout, or `stop` is notified; the connection is
// closed on return.
void serve_blocking(net::Fd connection, const StopSignal& stop, const Limits& limits);

// A connection accepted and given a place under Limits::max_connections.
struct Admitted {
  net::Fd fd;
  ConnectionGate::Ticket ticket;
};

// The accept step of the blocking models: waits for the listener, accepts
// and admits (a connection over the limit is answered 503 and skipped, one
// shed or failed is skipped); std::nullopt once `stop` is notified. When
// several threads or processes wait on one listener, every idle one wakes
// and those that lose the race go back to waiting.
std::optional<Admitted> accept_next(net::Acceptor& acceptor, int listen_fd, const StopSignal& stop,
                                    ConnectionGate& gate);

// Blocks until `fd` is readable, `stop` is notified, or `timeout_ms` passes
// (-1: no limit); true only when readable.
bool wait_readable(int fd, const StopSignal& stop, int timeout_ms = -1);

}  // namespace cmb::servers
