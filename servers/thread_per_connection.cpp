// thread-per-connection — accept on the main thread, then one new thread per
// connection running the same blocking loop as the iterative server.
// Syscalls: accept4 + clone per connection; recv/send block in each thread.
// Good at: blocking handlers (each client waits only for its own work), and
// simple code. Breaks: every connection costs a thread (stack, scheduler
// work, context switches); thousands of connections mean thousands of
// threads. When no thread can be created the client gets 503, not a crash.
#include <condition_variable>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

#include "servers/blocking_connection.hpp"
#include "servers/counters.hpp"
#include "servers/server.hpp"

namespace cmb::servers {
namespace {

// Shared with the detached connection threads, so it outlives the server if
// a thread is still unwinding when run() returns.
struct ActiveThreads {
  std::mutex mutex;
  std::condition_variable all_done;
  int count = 0;
};

class ThreadPerConnectionServer final : public Server {
 public:
  explicit ThreadPerConnectionServer(const ServerConfig& config) : Server(config) {}

  void run() override {
    auto active = std::make_shared<ActiveThreads>();
    net::Acceptor acceptor = make_acceptor(listen_fd(), /*nonblocking=*/false);
    while (auto next = accept_next(acceptor, listen_fd(), stop_signal(), connection_gate())) {
      {
        std::lock_guard lock(active->mutex);
        ++active->count;
      }
      // The new thread takes the descriptor; if no thread can be created it
      // stays here, so the client can be told.
      const int fd = next->fd.get();
      try {
        std::thread([this, active, fd, ticket = std::move(next->ticket)]() mutable {
          serve_blocking(net::Fd(fd), stop_signal(), config().limits);
          // Give the place back while the server (which owns the gate) is
          // certainly alive: run() may return once the count below is zero.
          ticket = ConnectionGate::Ticket();
          std::lock_guard lock(active->mutex);
          if (--active->count == 0) active->all_done.notify_all();
        }).detach();
        next->fd.release();
      } catch (const std::exception&) {  // std::system_error, or std::bad_alloc for its state
        std::lock_guard lock(active->mutex);
        --active->count;
        refuse_unavailable(fd);
      }
    }
    std::unique_lock lock(active->mutex);
    active->all_done.wait(lock, [&] { return active->count == 0; });
  }
};

}  // namespace

std::unique_ptr<Server> make_thread_per_connection_server(const ServerConfig& config) {
  return std::make_unique<ThreadPerConnectionServer>(config);
}

}  // namespace cmb::servers
