// defer-accept: thread-per-connection with TCP_DEFER_ACCEPT on its
// listener. The kernel completes the handshake but hands the connection to
// accept() only once its first bytes have arrived (or after the defer time,
// when it stops waiting), so a connection that only sits open costs no
// thread, no stack and no wake-up: the cost the c10k and idle-connections
// scenarios show for a thread per connection. A connection silent for
// longer than the defer time is accepted then, and the header timeout
// closes it as before. Deferred connections wait in the listen backlog:
// past it the kernel accepts them anyway (at 2 000 idle connections, 1 009
// threads with a backlog of 1 024, 34 with 4 096).
// Syscalls: accept4 + clone per connection that speaks; recv/send block.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <memory>
#include <system_error>

#include "servers/blocking_connection.hpp"
#include "servers/server.hpp"

namespace {

// How long the kernel holds a silent connection back, in seconds.
constexpr int kDeferSeconds = 30;

class DeferAcceptServer final : public cmb::servers::Server {
 public:
  explicit DeferAcceptServer(const cmb::servers::ServerConfig& config) : Server(config) {
    const int seconds = kDeferSeconds;
    if (::setsockopt(listen_fd(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds, sizeof seconds) != 0)
      throw std::system_error(errno, std::system_category(), "setsockopt(TCP_DEFER_ACCEPT)");
  }

  // The shipped thread-per-connection's loop, on this listener.
  void run() override {
    cmb::servers::serve_thread_per_connection(listen_fd(), stop_signal(), connection_gate(),
                                              config().limits);
  }
};

}  // namespace

std::unique_ptr<cmb::servers::Server> make_defer_accept_server(
    const cmb::servers::ServerConfig& config) {
  return std::make_unique<DeferAcceptServer>(config);
}
