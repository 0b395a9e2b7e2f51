// amped — Flash's asymmetric multi-process event-driven model (Pai, Druschel
// and Zwaenepoel, USENIX 1999), with threads for processes: one
// edge-triggered epoll loop serves everything that cannot block -- parsing,
// CPU work, non-blocking waits, writes -- inline, and hands only a request's
// blocking call (sleep_us, Flash's disk read) to a helper thread (--threads,
// default 4 x cores). When the helper returns, the loop resumes the
// connection through an eventfd.
// Good at: cheap requests at a single loop's cost (no hand-off, unlike
// epoll-workers) and blocking calls that no longer stall the loop (unlike
// epoll): SPED's speed on cached work, far ahead of it on blocking work.
// Breaks: CPU work still runs on the one loop, so it is capped at one core;
// the helper pool caps how many blocking calls overlap.

#include "servers/epoll_poller.hpp"
#include "servers/event_loop.hpp"

namespace cmb::servers {

std::unique_ptr<Server> make_amped_server(const ServerConfig& config) {
  return make_event_loop_server(
      config, [] { return std::make_unique<EpollPoller>(); }, /*loops=*/1,
      thread_count(config, DefaultThreads::kBlockingWorkers), Listeners::kOnePerLoop,
      PoolWork::kBlockingOnly);
}

}  // namespace cmb::servers
