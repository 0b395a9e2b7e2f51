// iterative — the server a first socket tutorial writes. One thread: accept a
// connection, read a request, handle it, write the response, and keep doing
// that on the same connection until the client closes; only then accept the
// next one. Syscalls: accept4, then recv/send on the one connection.
// Good at: nothing but simplicity — no locks, no races.
// Breaks: every other client waits in the listen backlog; with keep-alive it
// starves until the first client leaves. That is the point of the demo.
#include <memory>

#include "servers/blocking_connection.hpp"
#include "servers/counters.hpp"
#include "servers/server.hpp"

namespace cmb::servers {
namespace {

class IterativeServer final : public Server {
 public:
  explicit IterativeServer(const ServerConfig& config) : Server(config) {}

  void run() override {
    net::Acceptor acceptor = make_acceptor(listen_fd(), /*nonblocking=*/false);
    while (auto next = accept_next(acceptor, listen_fd(), stop_signal(), connection_gate()))
      serve_blocking(std::move(next->fd), stop_signal(), config().limits);
  }
};

}  // namespace

std::unique_ptr<Server> make_iterative_server(const ServerConfig& config) {
  return std::make_unique<IterativeServer>(config);
}

}  // namespace cmb::servers
