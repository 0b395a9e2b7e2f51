// What the multi-loop models (reuseport's event loops, io-uring, asio)
// share: one SO_REUSEPORT listener per loop, loops on threads that stop
// together, and how often a loop checks the header timeout.
#pragma once

#include <chrono>
#include <functional>
#include <vector>

#include "net/fd.hpp"
#include "net/socket.hpp"
#include "servers/server.hpp"

namespace cmb::servers {

// `loops - 1` more non-blocking SO_REUSEPORT listeners on `address`: the
// server's own listener serves the first loop, these the others.
std::vector<net::Fd> reuseport_siblings(const net::Address& address,
                                        const net::ListenOptions& options, int loops);

// Runs loop(0) on the calling thread and loop(1) ... loop(loops - 1) on
// threads of their own, and returns once every one has returned. A loop
// that throws stops `server`, so the others end too rather than serve on
// alone; the first exception is rethrown once all have been joined.
void run_loops(int loops, const std::function<void(int)>& loop, const Server& server);

// How often a loop checks its connections against the header timeout: a
// few times per timeout, so one is closed within about a quarter of it past
// its deadline; never more often than every 10 ms nor less than every second.
std::chrono::milliseconds sweep_period(std::chrono::milliseconds header_timeout);

}  // namespace cmb::servers
