#include "servers/registry.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <stdexcept>

#include "servers/runtimes.hpp"

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

const std::vector<ModelEntry>& shipped() {
  static const std::vector<ModelEntry> kShipped = {
      {"iterative", "one thread, one connection at a time: accept, serve until close, repeat",
       "#999999", "circle", make_iterative_server, /*concurrent=*/false},
      {"thread-per-connection", "a new thread per accepted connection, blocking I/O", "#d55e00",
       "circle", make_thread_per_connection_server},
      {"thread-pool", "a fixed pool of threads (--threads), each owning one connection at a time",
       "#e69f00", "circle", make_thread_pool_server},
      {"prefork",
       "N processes (--threads) forked up front, each accepting one connection at a time",
       "#d55e00", "square", make_prefork_server},
      {"fork-per-connection", "the parent accepts and forks a child per connection", "#999999",
       "square", make_fork_per_connection_server},
      {"select", "one thread, select() readiness loop; refuses descriptors >= FD_SETSIZE",
       "#f0e442", "circle", make_select_server, true, /*timer_waits=*/true},
      {"poll", "one thread, poll() readiness loop", "#e69f00", "square", make_poll_server, true,
       /*timer_waits=*/true},
      {"epoll", "one thread, edge-triggered epoll loop; wait_us becomes a timer", "#0072b2",
       "circle", make_epoll_server, true, /*timer_waits=*/true},
      {"epoll-workers", "one epoll I/O thread + a worker pool running the handler (--threads)",
       "#009e73", "circle", make_epoll_workers_server, true, /*timer_waits=*/true},
      {"reuseport", "N epoll loops, each with its own SO_REUSEPORT listener (--threads)", "#56b4e9",
       "circle", make_reuseport_server, true, /*timer_waits=*/true},
      {"epoll-exclusive", "N epoll loops sharing one listener with EPOLLEXCLUSIVE (--threads)",
       "#009e73", "square", make_epoll_exclusive_server, true, /*timer_waits=*/true},
      {"leader-followers",
       "N threads take turns leading one EPOLLONESHOT epoll set; the leader serves its event",
       "#cc79a7", "square", make_leader_followers_server},
      {"amped",
       "Flash's AMPED: one epoll loop; only blocking calls go to helper threads (--threads)",
       "#000000", "square", make_amped_server, true, /*timer_waits=*/true},
      {"fiber", "Boost.Fiber: a fiber per connection in blocking style; epoll wakes parked fibers",
       "#cc79a7", "circle", make_fiber_server, true, /*timer_waits=*/true},
      {"asio", "Boost.Asio, C++20 coroutines, one io_context per thread (--threads)", "#56b4e9",
       "square", make_asio_server, true, /*timer_waits=*/true},
      {"io-uring", "liburing: multishot accept and recv, provided buffers, one ring per thread",
       "#000000", "circle", make_io_uring_server, true, /*timer_waits=*/true,
       io_uring_unavailable_reason},
      {"nginx", "reference row: Debian's nginx, --threads workers, return 200, hello workload only",
       "#999999", "triangle", make_nginx_server, true, /*timer_waits=*/true,
       nginx_unavailable_reason, /*external=*/true, /*workload=*/false},
      // Servers people write in other languages, each beside its C++ twin
      // (servers/runtimes.hpp, docs/runtimes.md).
      {"go-seed",
       "Go, the tutorial's server: raw syscalls, one connection at a time; twin: iterative",
       "#f0e442", "square", make_runtime_server<Runtime::kGoSeed>, /*concurrent=*/false, false,
       runtime_unavailable_reason<Runtime::kGoSeed>, /*external=*/true},
      {"go-seed-goroutines",
       "Go, raw syscalls, a goroutine per connection, each blocked one holding a thread; twin: "
       "thread-per-connection",
       "#e69f00", "triangle", make_runtime_server<Runtime::kGoSeedGoroutines>, true,
       /*timer_waits=*/true, runtime_unavailable_reason<Runtime::kGoSeedGoroutines>,
       /*external=*/true},
      {"go-net",
       "Go's net package, a goroutine per connection over the netpoller; twins: fiber, epoll",
       "#009e73", "triangle", make_runtime_server<Runtime::kGoNet>, true, /*timer_waits=*/true,
       runtime_unavailable_reason<Runtime::kGoNet>, /*external=*/true},
      {"node", "Node.js's http module on one event loop; twin: epoll", "#56b4e9", "triangle",
       make_runtime_server<Runtime::kNode>, true, /*timer_waits=*/true,
       runtime_unavailable_reason<Runtime::kNode>, /*external=*/true},
      {"python-threads",
       "Python, a thread per connection, one running Python at a time (the GIL); twin: "
       "thread-per-connection",
       "#cc79a7", "triangle", make_runtime_server<Runtime::kPythonThreads>, true, false,
       runtime_unavailable_reason<Runtime::kPythonThreads>, /*external=*/true},
      {"python-asyncio", "Python's asyncio on one event loop; twin: epoll", "#000000", "triangle",
       make_runtime_server<Runtime::kPythonAsyncio>, true,
       /*timer_waits=*/true, runtime_unavailable_reason<Runtime::kPythonAsyncio>,
       /*external=*/true},
  };
  return kShipped;
}

// The shipped models and then the added ones; fixed once read.
struct Models {
  std::vector<ModelEntry> entries = shipped();
  bool read = false;
};
Models& models() {
  static Models kModels;
  return kModels;
}

const std::vector<ModelEntry>& entries() {
  models().read = true;
  return models().entries;
}

}  // namespace

std::string model_name_problem(std::string_view name) {
  const bool well_named = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
  if (well_named) return "";
  return fmt::format(
      "model name '{}': use lower-case letters, digits and '-' (it names files and columns)", name);
}

void add_models(const std::vector<ModelEntry>& extra) {
  Models& all = models();
  std::vector<ModelEntry> added = all.entries;
  for (const auto& entry : extra) {
    if (const std::string problem = model_name_problem(entry.name); !problem.empty())
      throw std::invalid_argument(problem);
    if (entry.factory == nullptr)
      throw std::invalid_argument(fmt::format("model '{}' has no factory", entry.name));
    if (std::find(kMarkers.begin(), kMarkers.end(), entry.marker) == kMarkers.end())
      throw std::invalid_argument(fmt::format("model '{}': marker '{}' is not one of {}",
                                              entry.name, entry.marker, fmt::join(kMarkers, ", ")));
    for (const auto& known : added)
      if (known.name == entry.name)
        throw std::invalid_argument(fmt::format("model '{}' is registered twice", entry.name));
    added.push_back(entry);
  }
  if (extra.empty()) return;
  if (all.read) throw std::logic_error("add_models: the list of models has already been read");
  all.entries = std::move(added);
}

const std::vector<ModelInfo>& registered_models() {
  static const std::vector<ModelInfo> kModels = [] {
    std::vector<ModelInfo> models;
    for (const auto& entry : entries())
      models.push_back({entry.name, entry.summary, entry.concurrent, entry.timer_waits,
                        entry.colour, entry.marker, entry.probe ? entry.probe() : "",
                        entry.external, entry.workload});
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
