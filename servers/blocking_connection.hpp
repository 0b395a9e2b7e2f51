// Serves one connection to its end with blocking calls on the calling thread:
// the per-connection loop of the iterative, thread-per-connection,
// thread-pool, prefork and fork models.
#pragma once

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

// Blocks until `fd` is readable, `stop` is notified, or `timeout_ms` passes
// (-1: no limit); true only when readable.
bool wait_readable(int fd, const StopSignal& stop, int timeout_ms = -1);

}  // namespace cmb::servers
