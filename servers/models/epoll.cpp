// epoll — one thread, non-blocking sockets, edge-triggered epoll: the
// readiness loop of nginx, Redis and libuv. Syscalls: epoll_wait, then
// accept4/recv/send until EAGAIN; wait_us arms a timer so other connections
// are served meanwhile.
// Good at: many connections with short, non-blocking work — no thread per
// connection, little memory, no context switches.
// Breaks: any blocking or long CPU work (sleep_us, cpu_us) stalls every
// connection, and one core is the ceiling.
#include "servers/epoll_poller.hpp"
#include "servers/event_loop.hpp"

namespace cmb::servers {

std::unique_ptr<Server> make_epoll_server(const ServerConfig& config) {
  return make_event_loop_server(config, [] { return std::make_unique<EpollPoller>(); });
}

}  // namespace cmb::servers
