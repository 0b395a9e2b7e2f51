#include "harness/sweep/server_watch.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "harness/sweep/syscall_counter.hpp"

namespace cmb::harness {
namespace {

using Clock = std::chrono::steady_clock;

// Samples the server's process tree while a point runs: memory, threads and
// processes from the window's first moment and every 50 ms, context switches
// as often as their cost allows, CPU and TCP counters when the measured
// window opens (warm-up and connecting are not charged).
class ServerSampler {
 public:
  explicit ServerSampler(pid_t pid) : pid_(pid), thread_([this] { loop(); }) {}
  ~ServerSampler() { finish(); }

  // At the window's edge (LoadConfig::on_window_open): the figures the
  // window is measured from, read here so that they are exact, and a first
  // reading of memory and threads that is surely inside the window.
  void open_window() {
    {
      std::lock_guard lock(mutex_);
      cpu_at_start_ = read_tree_cpu(pid_);
      tcp_at_start_ = read_tcp_counters(pid_);
      sample_memory();
      switches_.start(read_tree_switches(pid_));
      window_open_ = true;
    }
    wake_.notify_all();
  }

  void finish() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  std::optional<TreeCpu> cpu_at_start() const { return cpu_at_start_; }
  TcpCounters tcp_at_start() const { return tcp_at_start_; }
  const TreeMemory& peak() const { return peak_; }
  const SwitchCounter& switches() const { return switches_; }

 private:
  void sample_memory() {
    if (auto memory = read_tree_memory(pid_)) {
      peak_.rss_kb = std::max(peak_.rss_kb, memory->rss_kb);
      peak_.threads = std::max(peak_.threads, memory->threads);
      peak_.processes = std::max(peak_.processes, memory->processes);
    }
  }

  // Memory every 50 ms (one status file per process); switches read every
  // thread's status, which with 10 000 threads takes longer than 50 ms, so
  // they are read at most a fifth of the time instead of taking a CPU from
  // the load generator or the server.
  void loop() {
    std::unique_lock lock(mutex_);
    wake_.wait(lock, [&] { return done_ || window_open_; });
    if (!window_open_) return;
    auto next_switches = Clock::now();
    do {
      sample_memory();
      if (const auto began = Clock::now(); began >= next_switches) {
        switches_.sample(read_tree_switches(pid_));
        const auto now = Clock::now();
        next_switches = now + 4 * (now - began);
      }
    } while (!wake_.wait_for(lock, std::chrono::milliseconds(50), [&] { return done_; }));
    switches_.sample(read_tree_switches(pid_));
  }

  pid_t pid_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  bool window_open_ = false;
  std::optional<TreeCpu> cpu_at_start_;
  TcpCounters tcp_at_start_;
  TreeMemory peak_;
  SwitchCounter switches_;
  std::thread thread_;  // last: starts after the members it uses exist
};

uint64_t grew(uint64_t end, uint64_t begin) { return end >= begin ? end - begin : 0; }

// A server here: its /proc sampled meanwhile, and perf attached when asked.
class LocalWatch final : public ServerWatch {
 public:
  LocalWatch(ServerProcess& server, const SweepConfig& config)
      : ServerWatch(server), sampler_(server.pid()) {
    if (config.count_syscalls && SyscallCounter::unavailable_reason().empty())
      syscalls_.emplace(server.pid());
    if (config.profile && Profiler::unavailable_reason().empty())
      profiler_.emplace(server.pid(), config.server_cpus);
  }

  std::optional<Profile> profile(const std::string& prefix) override {
    return profiler_ ? profiler_->finish(prefix) : std::nullopt;
  }

 private:
  void open_tree() override {
    sampler_.open_window();
    if (syscalls_) syscalls_->enable();
    if (profiler_) profiler_->start();
  }
  void stop() override {
    if (syscalls_) syscalls_->disable();
    if (profiler_) profiler_->stop();
  }
  void finish_tree(ServerWindow& window) override {
    window.cpu_end = read_tree_cpu(server_.pid());
    // Read through the server's /proc: nothing to read once it has exited.
    const TcpCounters tcp_end = read_tcp_counters(server_.pid());
    sampler_.finish();
    window.cpu_start = sampler_.cpu_at_start();
    window.peak = sampler_.peak();
    window.voluntary = sampler_.switches().voluntary();
    window.involuntary = sampler_.switches().involuntary();
    window.tcp = tcp_end.since(sampler_.tcp_at_start());
    if (syscalls_) window.syscalls = syscalls_->finish();
  }

  ServerSampler sampler_;
  std::optional<SyscallCounter> syscalls_;
  std::optional<Profiler> profiler_;
};

// A server over ssh, out of /proc's reach: its own reports of its tree at
// the window's edges, two readings rather than a sampled peak.
class RemoteWatch final : public ServerWatch {
 public:
  using ServerWatch::ServerWatch;

 private:
  void open_tree() override { tree_start_ = server_.last_tree(); }
  void finish_tree(ServerWindow& window) override {
    const auto& tree_end = server_.last_tree();
    if (!tree_start_ || !tree_end) return;
    window.cpu_start = tree_start_->cpu;
    window.cpu_end = tree_end->cpu;
    window.peak.rss_kb = std::max(tree_start_->memory.rss_kb, tree_end->memory.rss_kb);
    window.peak.threads = std::max(tree_start_->memory.threads, tree_end->memory.threads);
    window.peak.processes = std::max(tree_start_->memory.processes, tree_end->memory.processes);
    window.voluntary = grew(tree_end->voluntary_switches, tree_start_->voluntary_switches);
    window.involuntary = grew(tree_end->involuntary_switches, tree_start_->involuntary_switches);
    window.tcp = tree_end->tcp.since(tree_start_->tcp);
  }

  std::optional<TreeFigures> tree_start_;
};

}  // namespace

// The counters as the window opens (every load thread waits at its edge
// while they are read) and after it closes: the server's count and the
// client's then differ only by the requests in flight at either edge.
void ServerWatch::open_window() {
  window_.counters_start = server_.snapshot();
  open_tree();
}

void ServerWatch::close_window() { window_.counters_close = server_.snapshot(); }

ServerWindow ServerWatch::finish() {
  stop();
  window_.counters_end = server_.snapshot();
  finish_tree(window_);
  return window_;
}

std::unique_ptr<ServerWatch> watch_server(ServerProcess& server, const SweepConfig& config) {
  if (server.remote()) return std::make_unique<RemoteWatch>(server);
  return std::make_unique<LocalWatch>(server, config);
}

}  // namespace cmb::harness
