// reuseport — shared-nothing loops, nginx-style: N threads (--threads,
// default one per core), each with its own edge-triggered epoll loop and its
// own SO_REUSEPORT listen socket on the same port, so the kernel spreads new
// connections evenly instead of waking one loop for most of them (epoll's
// LIFO wake-up on a shared listener).
// Good at: using every core for non-blocking work with no locks between
// loops.
// Breaks: blocking work still stalls a loop (and every connection on it); a
// connection never moves, so an unlucky loop can be hot while others idle.

#include "servers/epoll_poller.hpp"
#include "servers/event_loop.hpp"

namespace cmb::servers {

std::unique_ptr<Server> make_reuseport_server(const ServerConfig& config) {
  return make_event_loop_server(
      config, [] { return std::make_unique<EpollPoller>(); },
      thread_count(config, DefaultThreads::kLoopPerCore));
}

}  // namespace cmb::servers
