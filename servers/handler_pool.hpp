// Worker threads that run handler work handed over by an event loop
// (half-sync/half-async: the loop does I/O, the pool may block).
// submit() is thread-safe; stop() joins, finishing the tasks already queued.
#pragma once

#include <functional>
#include <thread>
#include <vector>

#include "servers/work_queue.hpp"

namespace cmb::servers {

class HandlerPool {
 public:
  explicit HandlerPool(int threads);
  ~HandlerPool() { stop(); }
  HandlerPool(const HandlerPool&) = delete;
  HandlerPool& operator=(const HandlerPool&) = delete;

  // Never blocks the caller for long: each connection has at most one task
  // queued, so the queue is sized far beyond any connection count.
  void submit(std::function<void()> task) { queue_.push(std::move(task)); }
  void stop();

 private:
  WorkQueue<std::function<void()>> queue_{1 << 20, Stage::kQueued};  // a read request's wait
  std::vector<std::thread> threads_;
};

}  // namespace cmb::servers
