// The load generator's engine. Each thread drives its share of the
// connections from its own epoll loop over non-blocking sockets (wrk's
// design). Closed loop by default: a connection sends its next request when
// a response arrives (after an optional think time). Open loop with a rate:
// every request has an intended send time on its connection's schedule, and
// latency counts from that time (wrk2's coordinated-omission correction).
#pragma once

#include <atomic>

#include "loadgen/load.hpp"

namespace cmb::loadgen {

// Runs the load and merges every thread's figures. Throws
// std::invalid_argument for a bad configuration and std::runtime_error when
// the host does not resolve. `cancel`, when set, ends the run early.
LoadResult run_load(const LoadConfig& config, const std::atomic<bool>* cancel = nullptr);

}  // namespace cmb::loadgen
