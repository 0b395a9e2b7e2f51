// A sweep's workloads, checked with the handler's own grammar before
// anything is measured: a typo must not measure the hello request, and a
// bad value must not measure a stream of 400s.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "loadgen/url.hpp"

namespace cmb::harness {

// A sweep's workload is one query string or a weighted mix of them:
// "bytes=13@95|sleep_us=20000@5" is two targets on one server. Throws
// std::invalid_argument for a weight that is not a whole number >= 1.
std::vector<loadgen::Target> workload_targets(const std::string& host, uint16_t port,
                                              const std::string& workload);

// The query keys the workloads give ("sleep_us"), each once, in order.
std::vector<std::string> workload_keys(const std::vector<std::string>& workloads);

// Why `query` is not a workload the handler serves as asked: a key it does
// not read (with the nearest one it does, and the list of them), or a value
// it refuses (with the key's limit). "" when it is one; "" is the hello
// request.
std::string workload_problem(std::string_view query);

// Throws UsageError (exit 2) naming the first workload with a problem in
// any of its queries or weights.
void check_workloads(const std::vector<std::string>& workloads);

}  // namespace cmb::harness
