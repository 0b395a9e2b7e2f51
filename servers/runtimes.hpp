// The servers people write in other languages (servers/runtimes/): the
// tutorial's Go server and its goroutine step, Go's net package, Node.js
// and Python's threads and asyncio, each implementing cmbench's workload in
// its own standard library. `cmbench serve` starts one through the
// external-server mechanism (servers/external.hpp), so the harness
// measures its process tree as any model's; it keeps none of our counters
// or stages. docs/runtimes.md says what each one's model is.
#pragma once

#include <memory>
#include <string>

#include "servers/server.hpp"

namespace cmb::servers {

enum class Runtime { kGoSeed, kGoSeedGoroutines, kGoNet, kNode, kPythonThreads, kPythonAsyncio };

// A bound server of that runtime, started and ready (servers/external.hpp).
std::unique_ptr<Server> make_runtime_server(Runtime runtime, const ServerConfig& config);

// Empty when the runtime's server can run here; otherwise what is missing
// and what installs it.
std::string runtime_unavailable_reason(Runtime runtime);

// The same as a registry entry's factory and probe (servers/registry.hpp).
template <Runtime R>
std::unique_ptr<Server> make_runtime_server(const ServerConfig& config) {
  return make_runtime_server(R, config);
}
template <Runtime R>
std::string runtime_unavailable_reason() {
  return runtime_unavailable_reason(R);
}

}  // namespace cmb::servers
