// thread-pool — a fixed pool of worker threads (--threads, default 4 x
// cores). The main thread accepts and hands each connection over a bounded
// queue; a worker owns it with blocking I/O until it closes, then takes the
// next. Syscalls: accept4 on one thread, recv/send in the workers.
// Good at: blocking handlers with a known concurrency, without a thread
// (and its stack) per connection or thread creation per connection.
// Breaks: keep-alive connections beyond the pool size wait in the queue,
// unserved, until a worker frees up — the iterative server's starvation,
// N times wider.
#include <poll.h>

#include <thread>
#include <vector>

#include "servers/blocking_connection.hpp"
#include "servers/counters.hpp"
#include "servers/server.hpp"
#include "servers/work_queue.hpp"

namespace cmb::servers {
namespace {

constexpr size_t kQueueCapacity = 1024;

class ThreadPoolServer final : public Server {
 public:
  explicit ThreadPoolServer(const ServerConfig& config) : Server(config) {}

  void run() override {
    const int size = thread_count(config(), DefaultThreads::kBlockingWorkers);
    // A queued connection's request waits to be read: its inbound stage.
    WorkQueue<Admitted> queue(kQueueCapacity, Stage::kInbound);
    std::vector<std::thread> workers;
    for (int i = 0; i < size; ++i) {
      workers.emplace_back([&] {
        while (auto connection = queue.pop())
          serve_blocking(std::move(connection->fd), stop_signal(), config().limits);
      });
    }
    // The acceptor may block on a full queue: closing it on stop frees it.
    std::thread closer([&] {
      pollfd p{stop_signal().fd(), POLLIN, 0};
      while (net::retry_on_eintr([&] { return ::poll(&p, 1, -1); }) <= 0) {
      }
      queue.close();
    });
    net::Acceptor acceptor = make_acceptor(listen_fd(), /*nonblocking=*/false);
    while (auto next = accept_next(acceptor, listen_fd(), stop_signal(), connection_gate()))
      if (!queue.push(std::move(*next))) break;
    closer.join();
    for (auto& worker : workers) worker.join();
  }
};

}  // namespace

std::unique_ptr<Server> make_thread_pool_server(const ServerConfig& config) {
  return std::make_unique<ThreadPoolServer>(config);
}

}  // namespace cmb::servers
