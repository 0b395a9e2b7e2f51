// The interface every concurrency model implements. A Server is bound when
// constructed (so the port is known before it serves); run() serves on the
// calling thread until stop(); stop() may be called from any thread or from
// a signal handler, and run() then returns once its connections are closed
// and its threads joined.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "net/fd.hpp"
#include "net/socket.hpp"
#include "servers/limits.hpp"

namespace cmb::servers {

struct ServerConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  int threads = 0;  // workers, loops or processes; 0 means the model's default
  int backlog = 1024;
  Limits limits;
  int counters_fd = -1;                 // servers/counters.hpp: -1 keeps them in anonymous memory
  std::string uring = "defer-taskrun";  // the io-uring model's ring (net::UringSetup)
};

// What --threads 0 means, in one place. Blocking workers (thread-pool,
// prefork, epoll-workers' pool): four per core, so that the cores stay busy
// while some workers wait. Shared-nothing loops (reuseport): one per core.
// A single loop unless told (io-uring, asio).
enum class DefaultThreads { kBlockingWorkers, kLoopPerCore, kOneLoop };
int thread_count(const ServerConfig& config, DefaultThreads fallback);

// Becomes readable forever once notified, so any number of threads (and
// forked children, which inherit it) can poll it next to their sockets.
class StopSignal {
 public:
  StopSignal();
  void notify() const noexcept;  // async-signal-safe
  bool notified() const;
  int fd() const { return fd_.get(); }

 private:
  net::Fd fd_;
};

class Server {
 public:
  virtual ~Server() = default;
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  virtual void run() = 0;
  void stop() const noexcept { stop_.notify(); }
  const net::Address& address() const { return address_; }

 protected:
  // Binds config.host:config.port; `reuse_port` for one listener per loop.
  explicit Server(const ServerConfig& config, bool reuse_port = false);
  const ServerConfig& config() const { return config_; }
  int listen_fd() const { return listener_.get(); }
  // How the listener was made (another loop's SO_REUSEPORT sibling is made so too).
  net::ListenOptions listen_options(bool reuse_port) const;
  // Gives the bound port up (keeping address()) for another process to bind:
  // an external server's.
  void close_listener() { listener_.reset(); }
  const StopSignal& stop_signal() const { return stop_; }
  // Open connections against config.limits.max_connections (per process).
  ConnectionGate& connection_gate() const { return *gate_; }

 private:
  ServerConfig config_;
  std::unique_ptr<ConnectionGate> gate_;
  net::Fd listener_;
  net::Address address_;
  StopSignal stop_;
};

}  // namespace cmb::servers
