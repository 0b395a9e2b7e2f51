#include "loadgen/engine.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "loadgen/idle.hpp"
#include "loadgen/worker.hpp"

namespace cmb::loadgen {
namespace {

using detail::Clock;
using detail::Plan;
using detail::Worker;

std::string build_request(const Url& url, bool keep_alive) {
  return fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\n{}\r\n", url.target, url.host_header,
                     keep_alive ? "" : "Connection: close\r\n");
}

// A run that needs more descriptors than this process may open stops
// before it starts, naming the limit, instead of failing connections one by
// one in a way that reads like the server's fault.
void check_descriptors(const LoadConfig& config, long connections, long idle_connections) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return;
  std::error_code ec;
  long open_now = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++open_now;
  // A socket per connection, idle or active, and a poller per thread.
  const long needed = open_now + idle_connections + connections + config.threads;
  if (needed <= static_cast<long>(limit.rlim_cur)) return;
  throw std::invalid_argument(fmt::format(
      "{} connections{} need about {} descriptors, more than this process may open ({}, "
      "RLIMIT_NOFILE{}){}",
      connections + idle_connections,
      idle_connections > 0 ? fmt::format(" ({} of them idle)", idle_connections) : "", needed,
      limit.rlim_cur, limit.rlim_max == limit.rlim_cur ? ", also its hard limit" : "",
      limit.rlim_max == limit.rlim_cur
          ? "; raising it takes CAP_SYS_RESOURCE (root outside a restricted container) or a "
            "higher `ulimit -Hn` in the shell that starts cmbench"
          : ""));
}

// Sleeps until the wall clock reads `start_at_ns` and returns the steady
// clock's reading of that instant; throws when it has long passed.
Clock::time_point wait_for_start(int64_t start_at_ns) {
  using std::chrono::system_clock;
  const system_clock::time_point at{
      std::chrono::duration_cast<system_clock::duration>(std::chrono::nanoseconds(start_at_ns))};
  const auto late = system_clock::now() - at;
  if (late > kStartAtSlack)
    throw std::runtime_error(fmt::format(
        "this agent was ready {:.0f} ms after its --start-at: start the agents further ahead",
        std::chrono::duration<double, std::milli>(late).count()));
  std::this_thread::sleep_until(at);
  // Both clocks read now; the steady one is what the schedule runs on.
  return Clock::now() - std::chrono::duration_cast<Clock::duration>(
                            std::max(system_clock::now() - at, system_clock::duration::zero()));
}

// What cannot be loaded, refused before anything connects.
void check_config(const LoadConfig& config) {
  if (config.targets.empty()) throw std::invalid_argument("no URL to load");
  if (config.connections < 1) throw std::invalid_argument("need at least one connection");
  if (config.threads < 1) throw std::invalid_argument("need at least one thread");
  if (config.pipeline < 1) throw std::invalid_argument("the pipeline depth must be at least 1");
  if (config.duration.count() <= 0) throw std::invalid_argument("the duration must be positive");
  if (config.rate < 0) throw std::invalid_argument("the rate cannot be negative");
  if (config.ramp.ramps() && !(config.rate > 0))
    throw std::invalid_argument("a ramp runs in the open loop: set rate to its mean");
  if (config.targets.size() > 65535) throw std::invalid_argument("too many targets");
  const Url& first = config.targets.front().url;
  for (const auto& target : config.targets) {
    if (target.url.host != first.host || target.url.port != first.port)
      throw std::invalid_argument("every URL must name the same host and port");
    if (target.weight == 0) throw std::invalid_argument("a target's weight must be positive");
  }
  if (config.idle_connections < 0)
    throw std::invalid_argument("the idle connections cannot be negative");
  if (config.segments < 1 || config.segment < 0 || config.segment >= config.segments)
    throw std::invalid_argument(
        fmt::format("segment {} of {}: expected 1 <= K <= N", config.segment + 1, config.segments));
}

// This agent's segment of the load (all of it without agents): its
// connections, idle connections and requests.
struct Segment {
  Share connections;
  int idle = 0;
  uint64_t max_requests = 0;
};

Segment segment_of(const LoadConfig& config) {
  const auto share = [&config](uint64_t all) {
    return segment_share(all, config.segment, config.segments);
  };
  Segment mine{share(static_cast<uint64_t>(config.connections)),
               static_cast<int>(share(static_cast<uint64_t>(config.idle_connections)).count),
               share(config.max_requests).count};
  if (mine.connections.count == 0)
    throw std::invalid_argument(
        fmt::format("{} connections cannot be shared by {} agents: give each at least one",
                    config.connections, config.segments));
  if (config.max_requests > 0 && mine.max_requests == 0)
    throw std::invalid_argument("--requests is smaller than the number of agents");
  return mine;
}

// Each thread's worker, with its share of the segment's connections.
std::vector<std::unique_ptr<Worker>> make_workers(Plan& plan, const Share& connections) {
  const LoadConfig& config = *plan.config;
  const int threads = static_cast<int>(
      std::min<uint64_t>(static_cast<uint64_t>(config.threads), connections.count));
  plan.window_edge = std::make_unique<std::barrier<Plan::EdgeHook>>(
      threads, Plan::EdgeHook{&config.on_window_open});
  plan.window_close = std::make_unique<std::barrier<Plan::EdgeHook>>(
      threads, Plan::EdgeHook{&config.on_window_close});
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < threads; ++i) {
    const Share part = segment_share(connections.count, i, threads);
    workers.push_back(std::make_unique<Worker>(
        plan, static_cast<int>(connections.first + part.first), static_cast<int>(part.count),
        static_cast<uint64_t>(config.segment) * 65536 + static_cast<uint64_t>(i) + 1));
  }
  return workers;
}

// Each worker on its own thread (on its CPU, when given); the first
// failure is rethrown once all have ended.
void run_workers(const std::vector<std::unique_ptr<Worker>>& workers,
                 const std::vector<int>& cpus) {
  std::vector<std::thread> running;
  std::vector<std::exception_ptr> failures(workers.size());
  for (size_t i = 0; i < workers.size(); ++i) {
    const int cpu = cpus.empty() ? -1 : cpus[i % cpus.size()];
    running.emplace_back([&worker = *workers[i], cpu, &failed = failures[i]] {
      try {
        worker.run(cpu);
      } catch (...) {
        failed = std::current_exception();
      }
    });
  }
  for (auto& thread : running) thread.join();
  for (const auto& failed : failures)
    if (failed) std::rethrow_exception(failed);
}

// The workers' results merged, the window timed to the last one's end and
// dated by the wall clock, the idle connections' fate added.
LoadResult merge(const std::vector<std::unique_ptr<Worker>>& workers, const Plan& plan,
                 const std::optional<IdleConnections>& idle) {
  LoadResult total;
  total.targets.resize(plan.config->targets.size());
  Clock::time_point finished = plan.measure_start;
  for (const auto& worker : workers) {
    total += worker->result();
    finished = std::max(finished, worker->finished());
  }
  total.duration_s = std::chrono::duration<double>(finished - plan.measure_start).count();
  if (idle) {
    total.idle_open = static_cast<uint64_t>(idle->open());
    total.idle_failed = static_cast<uint64_t>(idle->failed());
    total.idle_closed = static_cast<uint64_t>(idle->closed_by_server());
    total.idle_error = idle->first_error();
  }
  total.window_start_epoch_s =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count() -
      std::chrono::duration<double>(Clock::now() - plan.measure_start).count();
  return total;
}

}  // namespace

LoadResult run_load(const LoadConfig& config, const std::atomic<bool>* cancel) {
  check_config(config);
  Plan plan;
  plan.config = &config;
  plan.cancel = cancel;
  const Url& first = config.targets.front().url;
  plan.address = net::resolve(first.host, first.port);
  unsigned total = 0;
  for (const auto& target : config.targets) {
    plan.requests.push_back(build_request(target.url, config.keep_alive));
    plan.cumulative_weight.push_back(total += target.weight);
  }
  const Segment mine = segment_of(config);
  plan.max_requests = mine.max_requests;
  check_descriptors(config, static_cast<long>(mine.connections.count), mine.idle);
  // Opened before the clock starts, held until the workers are done.
  std::optional<IdleConnections> idle;
  if (mine.idle > 0) idle.emplace(plan.address, mine.idle, config.idle_connect_timeout);
  if (idle && config.on_idle_connected) config.on_idle_connected(idle->open());
  const int64_t start_at_ns = config.await_start ? config.await_start() : config.start_at_ns;
  if (config.await_start && start_at_ns <= 0) return LoadResult{};
  plan.start = start_at_ns > 0 ? wait_for_start(start_at_ns) : Clock::now();
  plan.measure_start = plan.start + config.warmup;
  plan.end = plan.measure_start + config.duration;
  const std::vector<std::unique_ptr<Worker>> workers = make_workers(plan, mine.connections);
  run_workers(workers, config.cpus);
  return merge(workers, plan, idle);
}

}  // namespace cmb::loadgen
