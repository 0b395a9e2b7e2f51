// epoll-exclusive — nginx's default accept mode: N threads (--threads,
// default one per core), each with its own edge-triggered epoll loop, all
// watching the server's one listening socket registered with
// EPOLLEXCLUSIVE, so a new connection wakes one waiting loop instead of
// every loop (the thundering herd). Next to reuseport it answers how
// connections spread: epoll wakes waiters last-in first-out, so the loop
// that went idle last takes most of them (Cloudflare, 2017), where
// SO_REUSEPORT hashes them across the loops.
// Good at: non-blocking work on every core with no herd, and no connection
// is stuck behind a busy loop's listener (any idle loop may take it).
// Breaks: connections pile onto few loops under light load; blocking work
// stalls a loop and every connection on it, as in reuseport.

#include "servers/epoll_poller.hpp"
#include "servers/event_loop.hpp"

namespace cmb::servers {

std::unique_ptr<Server> make_epoll_exclusive_server(const ServerConfig& config) {
  return make_event_loop_server(
      config, [] { return std::make_unique<EpollPoller>(/*exclusive_listener=*/true); },
      thread_count(config, DefaultThreads::kLoopPerCore), /*workers=*/0, Listeners::kShared);
}

}  // namespace cmb::servers
