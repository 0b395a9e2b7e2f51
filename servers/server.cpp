#include "servers/server.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <system_error>
#include <thread>

#include "servers/counters.hpp"

namespace cmb::servers {

StopSignal::StopSignal() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!fd_) throw std::system_error(errno, std::generic_category(), "eventfd");
}

void StopSignal::notify() const noexcept {
  const uint64_t one = 1;
  // Only fails when the counter would overflow: it is readable then anyway.
  [[maybe_unused]] ssize_t n = ::write(fd_.get(), &one, sizeof one);
}

bool StopSignal::notified() const {
  pollfd p{fd_.get(), POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

int thread_count(const ServerConfig& config, DefaultThreads fallback) {
  if (config.threads > 0) return config.threads;
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  switch (fallback) {
    case DefaultThreads::kBlockingWorkers:
      return 4 * cores;
    case DefaultThreads::kLoopPerCore:
      return cores;
    case DefaultThreads::kOneLoop:
      break;
  }
  return 1;
}

Server::Server(const ServerConfig& config, bool reuse_port)
    : config_(config),
      gate_(std::make_unique<ConnectionGate>(config.limits.max_connections)),
      listener_(
          net::listen_tcp(net::resolve(config.host, config.port), listen_options(reuse_port))),
      address_(net::local_address(listener_.get())) {
  // Every model waits for readiness before accepting; a connection that
  // vanishes in between must give EAGAIN, not block the accepting thread.
  net::set_nonblocking(listener_.get());
  init_counters(config.counters_fd);  // before any model forks: children count into the same set
}

net::ListenOptions Server::listen_options(bool reuse_port) const {
  return {.backlog = config_.backlog,
          .reuse_port = reuse_port,
          .receive_timestamps = config_.limits.attribution};
}

}  // namespace cmb::servers
