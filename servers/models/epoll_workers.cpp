// epoll-workers — half-sync/half-async: one epoll I/O thread reads and
// writes; a pool of worker threads (--threads, default 4 x cores) runs the
// parser and handler for every request, so blocking and CPU work no longer
// stall I/O (amped hands over only the blocking calls). A connection is
// handed to one worker at a time and returned to the loop through an eventfd.
// Good at: handlers that block or burn CPU, behind many connections.
// Breaks: hand-overs cost two context switches and a lock per request, so
// on cheap requests it loses to a plain loop; the pool size caps blocking
// concurrency.

#include "servers/epoll_poller.hpp"
#include "servers/event_loop.hpp"

namespace cmb::servers {

std::unique_ptr<Server> make_epoll_workers_server(const ServerConfig& config) {
  return make_event_loop_server(
      config, [] { return std::make_unique<EpollPoller>(); }, /*loops=*/1,
      thread_count(config, DefaultThreads::kBlockingWorkers));
}

}  // namespace cmb::servers
