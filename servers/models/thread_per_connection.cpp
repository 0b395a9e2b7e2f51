// thread-per-connection — accept on the main thread, then one new thread per
// connection running the same blocking loop as the iterative server.
// Syscalls: accept4 + clone per connection; recv/send block in each thread.
// Good at: blocking handlers (each client waits only for its own work), and
// simple code. Breaks: every connection costs a thread (stack, scheduler
// work, context switches); thousands of connections mean thousands of
// threads. When no thread can be created the client gets 503, not a crash.
#include <memory>

#include "servers/blocking_connection.hpp"
#include "servers/server.hpp"

namespace cmb::servers {
namespace {

class ThreadPerConnectionServer final : public Server {
 public:
  explicit ThreadPerConnectionServer(const ServerConfig& config) : Server(config) {}

  void run() override {
    serve_thread_per_connection(listen_fd(), stop_signal(), connection_gate(), config().limits);
  }
};

}  // namespace

std::unique_ptr<Server> make_thread_per_connection_server(const ServerConfig& config) {
  return std::make_unique<ThreadPerConnectionServer>(config);
}

}  // namespace cmb::servers
