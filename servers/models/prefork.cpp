// prefork — Apache's prefork MPM: N processes (--threads, default 4 x
// cores) forked before serving, each blocking in accept on the shared
// listen socket and serving one connection at a time. The parent only
// replaces children that die and stops them all on shutdown.
// Syscalls: fork at start; poll + accept4 + recv/send in each child.
// Good at: isolation — a crash or leak takes down one process, not the
// server; no shared memory, no locks.
// Breaks: one connection per process, so keep-alive clients beyond N
// starve; each process costs its own memory; wake-ups on the shared
// listener thunder.
#include <thread>

#include "servers/blocking_connection.hpp"
#include "servers/child_processes.hpp"
#include "servers/counters.hpp"
#include "servers/server.hpp"

namespace cmb::servers {
namespace {

constexpr int kReapIntervalMs = 100;

class PreforkServer final : public Server {
 public:
  explicit PreforkServer(const ServerConfig& config) : Server(config) {}

  void run() override {
    const size_t size =
        static_cast<size_t>(thread_count(config(), DefaultThreads::kBlockingWorkers));
    ChildProcesses children;
    const auto serve = [this] {
      net::Acceptor acceptor = make_acceptor(listen_fd(), /*nonblocking=*/false);
      register_acceptor();
      // Every idle child wakes; those that lose the race wait again.
      while (auto next = accept_next(acceptor, listen_fd(), stop_signal(), connection_gate()))
        serve_blocking(std::move(next->fd), stop_signal(), config().limits);
    };
    while (!stop_signal().notified()) {
      children.reap();
      while (children.running() < size && children.spawn(serve) > 0) {
      }
      // Sleep until stopped, checking for dead children now and then.
      wait_readable(stop_signal().fd(), stop_signal(), kReapIntervalMs);
    }
    children.stop_all(std::chrono::milliseconds(2000));
  }
};

}  // namespace

std::unique_ptr<Server> make_prefork_server(const ServerConfig& config) {
  return std::make_unique<PreforkServer>(config);
}

}  // namespace cmb::servers
