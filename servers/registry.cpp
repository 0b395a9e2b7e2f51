#include "servers/registry.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <functional>
#include <stdexcept>

namespace cmb::servers {

// Each model's file defines its factory; this is the one place naming them.
std::unique_ptr<Server> make_iterative_server(const ServerConfig& config);
std::unique_ptr<Server> make_thread_per_connection_server(const ServerConfig& config);
std::unique_ptr<Server> make_thread_pool_server(const ServerConfig& config);
std::unique_ptr<Server> make_prefork_server(const ServerConfig& config);
std::unique_ptr<Server> make_fork_per_connection_server(const ServerConfig& config);
std::unique_ptr<Server> make_select_server(const ServerConfig& config);
std::unique_ptr<Server> make_poll_server(const ServerConfig& config);
std::unique_ptr<Server> make_epoll_server(const ServerConfig& config);
std::unique_ptr<Server> make_epoll_workers_server(const ServerConfig& config);
std::unique_ptr<Server> make_reuseport_server(const ServerConfig& config);
std::unique_ptr<Server> make_epoll_exclusive_server(const ServerConfig& config);
std::unique_ptr<Server> make_leader_followers_server(const ServerConfig& config);
std::unique_ptr<Server> make_amped_server(const ServerConfig& config);
std::unique_ptr<Server> make_fiber_server(const ServerConfig& config);
std::unique_ptr<Server> make_asio_server(const ServerConfig& config);
std::unique_ptr<Server> make_io_uring_server(const ServerConfig& config);
std::string io_uring_unavailable_reason();
std::unique_ptr<Server> make_nginx_server(const ServerConfig& config);
std::string nginx_unavailable_reason();

namespace {

using Factory = std::unique_ptr<Server> (*)(const ServerConfig&);
// Returns an empty string when the model can run here, else the reason.
using Probe = std::string (*)();

struct Entry {
  std::string_view name;
  std::string_view summary;
  std::string_view colour;  // matplotlib's tab10/tab20 shades
  Factory factory;
  bool concurrent = true;
  bool timer_waits = false;
  Probe probe = nullptr;
  bool external = false;
};

const std::vector<Entry>& entries() {
  static const std::vector<Entry> kEntries = {
      {"iterative", "one thread, one connection at a time: accept, serve until close, repeat",
       "#7f7f7f", make_iterative_server, /*concurrent=*/false},
      {"thread-per-connection", "a new thread per accepted connection, blocking I/O", "#d62728",
       make_thread_per_connection_server},
      {"thread-pool", "a fixed pool of threads (--threads), each owning one connection at a time",
       "#ff7f0e", make_thread_pool_server},
      {"prefork",
       "N processes (--threads) forked up front, each accepting one connection at a time",
       "#8c564b", make_prefork_server},
      {"fork-per-connection", "the parent accepts and forks a child per connection", "#e377c2",
       make_fork_per_connection_server},
      {"select", "one thread, select() readiness loop; refuses descriptors >= FD_SETSIZE",
       "#bcbd22", make_select_server, true, /*timer_waits=*/true},
      {"poll", "one thread, poll() readiness loop", "#17becf", make_poll_server, true,
       /*timer_waits=*/true},
      {"epoll", "one thread, edge-triggered epoll loop; wait_us becomes a timer", "#1f77b4",
       make_epoll_server, true, /*timer_waits=*/true},
      {"epoll-workers", "one epoll I/O thread + a worker pool running the handler (--threads)",
       "#2ca02c", make_epoll_workers_server, true, /*timer_waits=*/true},
      {"reuseport", "N epoll loops, each with its own SO_REUSEPORT listener (--threads)", "#9467bd",
       make_reuseport_server, true, /*timer_waits=*/true},
      {"epoll-exclusive", "N epoll loops sharing one listener with EPOLLEXCLUSIVE (--threads)",
       "#c5b0d5", make_epoll_exclusive_server, true, /*timer_waits=*/true},
      {"leader-followers",
       "N threads take turns leading one EPOLLONESHOT epoll set; the leader serves its event",
       "#ffbb78", make_leader_followers_server},
      {"amped",
       "Flash's AMPED: one epoll loop; only blocking calls go to helper threads (--threads)",
       "#98df8a", make_amped_server, true, /*timer_waits=*/true},
      {"fiber", "Boost.Fiber: a fiber per connection in blocking style; epoll wakes parked fibers",
       "#dbdb8d", make_fiber_server, true, /*timer_waits=*/true},
      {"asio", "Boost.Asio, C++20 coroutines, one io_context per thread (--threads)", "#aec7e8",
       make_asio_server, true, /*timer_waits=*/true},
      {"io-uring", "liburing: multishot accept and recv, provided buffers, one ring per thread",
       "#000000", make_io_uring_server, true, /*timer_waits=*/true, io_uring_unavailable_reason},
      {"nginx", "reference row: Debian's nginx, --threads workers, return 200, hello workload only",
       "#c7c7c7", make_nginx_server, true, /*timer_waits=*/true, nginx_unavailable_reason,
       /*external=*/true},
  };
  return kEntries;
}

}  // namespace

const std::vector<ModelInfo>& registered_models() {
  static const std::vector<ModelInfo> kModels = [] {
    std::vector<ModelInfo> models;
    for (const auto& entry : entries())
      models.push_back({entry.name, entry.summary, entry.concurrent, entry.timer_waits,
                        entry.colour, entry.probe ? entry.probe() : "", entry.external});
    return models;
  }();
  return kModels;
}

std::optional<ModelInfo> find_model(std::string_view name) {
  for (auto& model : registered_models())
    if (model.name == name) return model;
  return std::nullopt;
}

std::vector<std::string> available_model_names() {
  std::vector<std::string> names;
  for (const auto& model : registered_models())
    if (model.unavailable_reason.empty()) names.emplace_back(model.name);
  return names;
}

std::unique_ptr<Server> make_server(std::string_view model, const ServerConfig& config) {
  for (size_t i = 0; i < entries().size(); ++i) {
    if (entries()[i].name != model) continue;
    if (const std::string& reason = registered_models()[i].unavailable_reason; !reason.empty())
      throw std::invalid_argument(
          fmt::format("model '{}' is not available here: {}", model, reason));
    return entries()[i].factory(config);
  }
  throw std::invalid_argument(fmt::format("unknown model '{}' (known: {})", model,
                                          fmt::join(available_model_names(), ", ")));
}

}  // namespace cmb::servers
