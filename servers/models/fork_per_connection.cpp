// fork-per-connection — the classic inetd-style Unix server: the parent
// accepts and forks a child per connection; the child serves it with
// blocking I/O and exits; the parent reaps children without ever blocking
// on one. Syscalls: accept4 + fork per connection, waitpid(WNOHANG).
// Good at: isolation per client, and code as simple as the iterative
// server's.
// Breaks: a fork per connection (page tables, copy-on-write faults) makes
// short connections expensive; thousands of clients mean thousands of
// processes. When fork fails the client gets 503, not a crash.
#include "servers/blocking_connection.hpp"
#include "servers/child_processes.hpp"
#include "servers/counters.hpp"
#include "servers/server.hpp"

namespace cmb::servers {
namespace {

constexpr int kReapIntervalMs = 100;

class ForkPerConnectionServer final : public Server {
 public:
  explicit ForkPerConnectionServer(const ServerConfig& config) : Server(config) {}

  void run() override {
    ChildProcesses children;
    net::Acceptor acceptor = make_acceptor(listen_fd(), /*nonblocking=*/false);
    while (!stop_signal().notified()) {
      children.reap();
      if (!wait_readable(listen_fd(), stop_signal(), kReapIntervalMs)) continue;
      auto accepted = acceptor.accept();
      if (accepted.outcome != net::Acceptor::Outcome::kAccepted) continue;
      count(Counter::kAccepted);  // its limit is the children, not the gate
      net::Fd& connection = accepted.fd;
      // Each child serves one connection: the children are the connections.
      if (children.reap(),
          children.running() >= static_cast<size_t>(config().limits.max_connections)) {
        refuse_unavailable(connection.get());
        continue;
      }
      const pid_t pid = children.spawn(
          [&] { serve_blocking(std::move(connection), stop_signal(), config().limits); });
      if (pid < 0) refuse_unavailable(connection.get());
      // The parent's copy of the connection closes here; the child has its own.
    }
    children.stop_all(std::chrono::milliseconds(2000));
  }
};

}  // namespace

std::unique_ptr<Server> make_fork_per_connection_server(const ServerConfig& config) {
  return std::make_unique<ForkPerConnectionServer>(config);
}

}  // namespace cmb::servers
