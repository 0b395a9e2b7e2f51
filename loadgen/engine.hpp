// The load generator's engine. Each thread drives its share of the
// connections from its own epoll loop over non-blocking sockets (wrk's
// design). Closed loop: a connection sends its next request as soon as the
// previous response is complete.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "loadgen/histogram.hpp"
#include "loadgen/url.hpp"

namespace cmb::loadgen {

struct LoadConfig {
  Url url;
  int connections = 10;
  int threads = 2;  // clamped to the number of connections
  std::chrono::nanoseconds duration = std::chrono::seconds(10);
  std::chrono::nanoseconds warmup{0};  // runs before `duration`, not recorded
  std::chrono::nanoseconds timeout = std::chrono::seconds(2);  // per request
  bool keep_alive = true;  // false: a new connection per request
  std::vector<int> cpus;   // pin thread i to cpus[i % size]; empty: no pinning
};

// Errors by cause, as wrk counts them. A response with status >= 400 is a
// completed request and a status error.
struct ErrorCounts {
  uint64_t connect = 0;
  uint64_t read = 0;
  uint64_t write = 0;
  uint64_t timeout = 0;
  uint64_t status = 0;

  uint64_t total() const { return connect + read + write + timeout + status; }
  ErrorCounts& operator+=(const ErrorCounts& other);
};

struct LoadResult {
  uint64_t requests = 0;  // responses completed in the measured window
  double duration_s = 0;  // the measured window
  uint64_t bytes_read = 0;
  ErrorCounts errors;
  // Request sent -> response complete, ns; a request that timed out counts
  // with its age when abandoned (a lower bound of what the client saw).
  LatencyHistogram latency;
  LatencyHistogram connect_latency;  // connect() -> connected, ns
  double cpu_user_s = 0;             // the generator's own threads
  double cpu_system_s = 0;
  std::string first_error;  // the system's text for the first error seen

  double rps() const { return duration_s > 0 ? static_cast<double>(requests) / duration_s : 0; }
};

// Runs the load and merges every thread's figures. Throws
// std::invalid_argument for a bad configuration and std::runtime_error when
// the host does not resolve. `cancel`, when set, ends the run early.
LoadResult run_load(const LoadConfig& config, const std::atomic<bool>* cancel = nullptr);

}  // namespace cmb::loadgen
