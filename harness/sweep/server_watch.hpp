// What a server did over one measured window, read the same way whether it
// runs here (its /proc sampled, perf attached) or over ssh (its own reports
// of its process tree with each snapshot of its counters).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "harness/base/proc_stats.hpp"
#include "harness/sweep/config.hpp"
#include "harness/sweep/profiler.hpp"
#include "harness/sweep/server_process.hpp"
#include "servers/counters.hpp"

namespace cmb::harness {

// The server over one window: its counters at the window's edges (and as
// it closed, before any connection did), its process tree's CPU at the
// edges, its peak memory, and its switches and TCP's counters meanwhile.
struct ServerWindow {
  std::optional<servers::CounterValues> counters_start, counters_close, counters_end;
  std::optional<TreeCpu> cpu_start, cpu_end;
  TreeMemory peak;
  uint64_t voluntary = 0, involuntary = 0;
  TcpCounters tcp;                   // grown over the window
  std::optional<uint64_t> syscalls;  // with --syscalls, over the window
};

// Called from the load's window hooks (any load thread, once each), then
// finish() after the load returns.
class ServerWatch {
 public:
  explicit ServerWatch(ServerProcess& server) : server_(server) {}
  virtual ~ServerWatch() = default;
  ServerWatch(const ServerWatch&) = delete;
  ServerWatch& operator=(const ServerWatch&) = delete;

  void open_window();
  void close_window();
  ServerWindow finish();
  // With --profile, once the window is finished: PREFIX.folded and
  // PREFIX.flame.html, and the samples by kind; nothing when not profiled.
  virtual std::optional<Profile> profile(const std::string& /*prefix*/) { return std::nullopt; }

 protected:
  virtual void open_tree() = 0;
  virtual void stop() {}
  virtual void finish_tree(ServerWindow& window) = 0;
  ServerProcess& server_;

 private:
  ServerWindow window_;
};

// The watch for `server` as `config` asks (syscalls, profile).
std::unique_ptr<ServerWatch> watch_server(ServerProcess& server, const SweepConfig& config);

}  // namespace cmb::harness
