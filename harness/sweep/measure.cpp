#include "harness/sweep/measure.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "harness/base/clock.hpp"
#include "harness/base/proc_stats.hpp"
#include "harness/hosts/agents.hpp"
#include "harness/results/steady.hpp"
#include "harness/sweep/plan.hpp"
#include "harness/sweep/profiler.hpp"
#include "harness/sweep/syscall_counter.hpp"
#include "harness/sweep/workloads.hpp"
#include "loadgen/hist_file.hpp"
#include "loadgen/report.hpp"
#include "loadgen/url.hpp"
#include "net/uring.hpp"

namespace cmb::harness {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

std::string slug(std::string_view text) {
  std::string out;
  for (char c : text)
    out += std::isalnum(static_cast<unsigned char>(c)) || c == '=' || c == '.' ? c : '_';
  return out.empty() ? "hello" : out;
}

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

// Until the server has accepted `total` connections in all, or has taken
// none for 5 s (it holds what it can; a dropped SYN is retried 1, 2 and
// 4 s apart), or a minute has passed.
void wait_for_accepts(ServerProcess& server, uint64_t total) {
  const auto give_up = Clock::now() + std::chrono::minutes(1);
  uint64_t last = 0;
  auto last_progress = Clock::now();
  while (Clock::now() < give_up && Clock::now() - last_progress < std::chrono::seconds(5)) {
    const auto now = server.snapshot();
    if (!now || now->accepted >= total) return;
    if (now->accepted != last) {
      last = now->accepted;
      last_progress = Clock::now();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

using StageWindows = std::array<servers::StageHistogram, servers::kStages>;

// Each stage's mean and p99 over the window; a stage with no sample stays
// empty. What the four leave of the client's mean over the same requests
// (`answered_mean_us`, those answered in the window, from their actual
// send) is unaccounted.
void fill_stages(ResultRow& row, const StageWindows& windows, double answered_mean_us) {
  std::optional<double>* columns[servers::kStages][2] = {
      {&row.inbound_mean_us, &row.inbound_p99_us},
      {&row.queued_mean_us, &row.queued_p99_us},
      {&row.service_mean_us, &row.service_p99_us},
      {&row.outbound_mean_us, &row.outbound_p99_us}};
  double sum = 0;
  bool all = true;
  for (size_t i = 0; i < servers::kStages; ++i) {
    const servers::StageHistogram& window = windows[i];
    if (window.count == 0) {
      all = false;
      continue;
    }
    *columns[i][0] = window.mean_us();
    *columns[i][1] = window.percentile_us(99);
    sum += window.mean_us();
  }
  if (all) row.unaccounted_mean_us = answered_mean_us - sum;
}

// What the server held waiting for a worker as the window closed, in the
// stages a wait for a worker belongs to (servers::WaitingWork).
void fill_waiting(ResultRow& row,
                  const std::array<servers::WaitingWork, servers::kStages>& waiting) {
  const auto& inbound = waiting[static_cast<size_t>(servers::Stage::kInbound)];
  const auto& queued = waiting[static_cast<size_t>(servers::Stage::kQueued)];
  row.inbound_waiting = inbound.count;
  row.inbound_waiting_age_mean_us = inbound.age_mean_us();
  row.queued_waiting = queued.count;
  row.queued_waiting_age_mean_us = queued.age_mean_us();
}

// The server's CPU per request split by the profile's shares of samples;
// nothing when perf sampled nothing.
void fill_profile(ResultRow& row, const std::optional<Profile>& profile) {
  if (!profile) return;
  for (const double us : profile->split(row.server_cpu_us_per_request))
    row.cpu_us_by_kind.push_back(us);
}

void fill_load_figures(ResultRow& row, const loadgen::LoadResult& result) {
  const auto us = [](uint64_t nanos) { return static_cast<double>(nanos) / 1000.0; };
  row.duration_s = result.duration_s;
  row.requests = result.requests;
  row.rps = result.rps();
  row.steady = steady_of(result.slices);
  row.errors = result.errors;
  row.unanswered = result.unanswered();
  row.unanswered_age_mean_us = result.unanswered_age_mean_us();
  row.connections_unanswered = result.connections_unanswered;
  if (const uint64_t sent = result.requests + result.unanswered(); sent > 0)
    row.unanswered_wait_us =
        static_cast<double>(result.unanswered_ns) / 1000.0 / static_cast<double>(sent);
  row.latency_mean_us = result.latency.mean() / 1000.0;
  row.latency_p50_us = us(result.latency.percentile(50));
  row.latency_p90_us = us(result.latency.percentile(90));
  row.latency_p99_us = us(result.latency.percentile(99));
  row.latency_p999_us = us(result.latency.percentile(99.9));
  row.latency_max_us = us(result.latency.max());
  row.uncorrected_p99_us = us(result.uncorrected_latency.percentile(99));
  row.schedule_lag_p99_us = us(result.schedule_lag.percentile(99));
  row.loadgen_cpu_s = result.cpu_user_s + result.cpu_system_s;
  row.loadgen_max_thread_busy = result.max_thread_busy();
}

// Why the point measured is not the one asked for, the gravest reason
// last; "" when it is. `ended`: how the server ended meanwhile, if it did.
std::string point_failure(const PointId& point, const loadgen::LoadResult& result,
                          const std::string& agents_error, const std::string& ended) {
  std::string failure;
  // A request the server refuses is not the work asked for: not a rate.
  // (Shedding under load answers 503, and stays a measurement.)
  if (const std::string wrong = loadgen::mostly_status(result, 4); !wrong.empty())
    failure = wrong + ": the server refused the request itself";
  if (result.idle_failed > 0)
    failure = fmt::format("{} of {} idle connections did not connect ({})", result.idle_failed,
                          point.idle_connections, result.idle_error);
  if (!agents_error.empty()) failure = agents_error;
  if (!ended.empty()) failure = "server " + ended + " during the point";
  return failure;
}

}  // namespace

ResultRow row_for(const PointId& point, const SweepModel& model) {
  ResultRow row;
  static_cast<PointId&>(row) = point;
  row.uring_setup = model.uring_setup;
  row.timestamp = utc_now("%Y-%m-%dT%H:%M:%SZ");
  return row;
}

std::vector<double> PointMeasurer::agent_clock_offsets() const {
  std::vector<double> offsets;
  for (size_t i = 1; i < config_.host_infos.size(); ++i)
    offsets.push_back(config_.host_infos[i].clock_offset_ms);
  offsets.resize(config_.load_hosts.size());
  return offsets;
}

PointMeasurer::PointMeasurer(const SweepConfig& config, const std::atomic<bool>* cancel)
    : config_(config), cancel_(cancel) {}

ResultRow PointMeasurer::measure(ServerProcess& server, const PointId& point) {
  ResultRow row = row_for(point, config_.model(point.model));
  loadgen::LoadConfig load;
  load.targets = workload_targets(config_.host, server.port(), point.workload);
  load.connections = point.connections;
  load.threads = config_.load_threads;
  load.duration = config_.duration;
  load.warmup = config_.warmup;
  load.timeout = config_.timeout;
  load.rate = point.rate;
  if (config_.ramp.ramps() && point.rate > 0) {
    load.ramp = config_.ramp;
    row.ramp = config_.ramp.text();
  }
  load.idle_connections = point.idle_connections;
  load.keep_alive = config_.keep_alive;
  load.busy_poll = config_.busy_poll;
  load.cpus = config_.load_cpus;
  load.interval_histograms = true;  // for the point's .hlog
  if (config_.requests_per_connection > 0) {
    // Bendersky's clients: a fixed amount of work, timed to its end.
    load.max_requests = static_cast<uint64_t>(point.connections) *
                        static_cast<uint64_t>(config_.requests_per_connection);
    load.warmup = {};
    load.duration = std::chrono::minutes(10);
  } else if (config_.warmup_auto) {
    row.warmup_s = warm_up(load);  // then straight into the window
    load.warmup = {};
  }
  if (!config_.warmup_auto) row.warmup_s = std::chrono::duration<double>(load.warmup).count();

  // The server's counters as the window opens (every load thread waits at
  // its edge while they are read) and after it closes: the server's count
  // and the client's then differ only by the requests in flight at either
  // edge.
  std::optional<servers::CounterValues> counters_start;
  // The server's process tree over the window: sampled from /proc here, or
  // reported by the server itself with its snapshots when it runs over ssh.
  const bool remote = server.remote();
  std::optional<SyscallCounter> syscalls;
  if (!remote && config_.count_syscalls && SyscallCounter::unavailable_reason().empty())
    syscalls.emplace(server.pid());
  std::optional<Profiler> profiler;
  if (!remote && config_.profile && Profiler::unavailable_reason().empty())
    profiler.emplace(server.pid(), config_.server_cpus);
  std::optional<ServerSampler> sampler;
  if (!remote) sampler.emplace(server.pid());
  std::optional<TreeFigures> tree_start;
  load.on_window_open = [&] {
    counters_start = server.snapshot();
    if (sampler) sampler->open_window();
    if (remote) tree_start = server.last_tree();
    if (syscalls) syscalls->enable();
    if (profiler) profiler->start();
  };
  // What the server holds waiting as the window closes, before any
  // connection does.
  std::optional<servers::CounterValues> counters_close;
  load.on_window_close = [&] { counters_close = server.snapshot(); };
  if (!config_.model(point.model).external)
    load.on_idle_connected = [&server, before = server.snapshot()](int open) {
      if (before) wait_for_accepts(server, before->accepted + static_cast<uint64_t>(open));
    };
  AgentsResult load_run = run(load);
  loadgen::LoadResult result = std::move(load_run.merged);
  const std::string agents_error = std::move(load_run.error);
  if (!config_.load_hosts.empty()) {
    row.load_hosts = load_hosts_text(config_.load_hosts);
    write_agents_file(point, config_.load_hosts, load_run.each);
  }
  if (syscalls) syscalls->disable();
  if (profiler) profiler->stop();
  const std::optional<servers::CounterValues> counters_end = server.snapshot();
  std::optional<StageWindows> stages;  // an own model's, below

  // What the server did over the window, however it was learnt.
  std::optional<TreeCpu> cpu_start, cpu_end;
  TreeMemory peak;
  uint64_t voluntary = 0, involuntary = 0;
  TcpCounters tcp_start, tcp_end;
  const auto grew = [](uint64_t end, uint64_t begin) { return end >= begin ? end - begin : 0; };
  if (sampler) {
    cpu_end = read_tree_cpu(server.pid());
    // Read through the server's /proc: nothing to read once it has exited.
    tcp_end = read_tcp_counters(server.pid());
    sampler->finish();
    cpu_start = sampler->cpu_at_start();
    peak = sampler->peak();
    voluntary = sampler->switches().voluntary();
    involuntary = sampler->switches().involuntary();
    tcp_start = sampler->tcp_at_start();
  } else if (const auto& tree_end = server.last_tree(); tree_start && tree_end) {
    // Two readings, not a sampled peak: the larger of the window's edges.
    cpu_start = tree_start->cpu;
    cpu_end = tree_end->cpu;
    peak.rss_kb = std::max(tree_start->memory.rss_kb, tree_end->memory.rss_kb);
    peak.threads = std::max(tree_start->memory.threads, tree_end->memory.threads);
    peak.processes = std::max(tree_start->memory.processes, tree_end->memory.processes);
    voluntary = grew(tree_end->voluntary_switches, tree_start->voluntary_switches);
    involuntary = grew(tree_end->involuntary_switches, tree_start->involuntary_switches);
    tcp_start = tree_start->tcp;
    tcp_end = tree_end->tcp;
  }

  fill_load_figures(row, result);
  if (cpu_start && cpu_end) {
    row.server_user_s = cpu_end->user_s - cpu_start->user_s;
    row.server_system_s = cpu_end->system_s - cpu_start->system_s;
    if (result.requests > 0)
      row.server_cpu_us_per_request =
          (row.server_user_s + row.server_system_s) * 1e6 / static_cast<double>(result.requests);
  }
  // An external server keeps none of our counters: blank, not zero.
  if (counters_start && counters_end && !config_.model(point.model).external) {
    row.server_requests = counters_end->requests - counters_start->requests;
    row.server_refused = counters_end->refused - counters_start->refused;
    row.server_timed_out = counters_end->timed_out - counters_start->timed_out;
    row.server_rejected = counters_end->rejected - counters_start->rejected;
    std::vector<uint64_t> accepts;
    for (size_t s = 0; s < servers::kCounterSlots; ++s)
      if ((counters_end->acceptor_slots >> s) & 1)
        accepts.push_back(counters_end->accepted_by_slot[s] - counters_start->accepted_by_slot[s]);
    row.server_accepts_per_thread = fmt::format("{}", fmt::join(accepts, "|"));
    stages = counters_end->stages_since(*counters_start);
    fill_stages(row, *stages, result.answered_mean_us());
    if (counters_close) fill_waiting(row, counters_close->waiting);
  }
  // Per request the server counted; a server without our counters, per
  // answer the load counted.
  if (const auto calls = syscalls ? syscalls->finish() : std::nullopt; calls) {
    const uint64_t answered = row.server_requests.value_or(result.requests);
    if (answered > 0)
      row.server_syscalls_per_request = static_cast<double>(*calls) / static_cast<double>(answered);
  }
  row.server_rss_max_kb = peak.rss_kb;
  row.server_threads_max = peak.threads;
  row.server_processes_max = peak.processes;
  row.server_ctx_voluntary = voluntary;
  row.server_ctx_involuntary = involuntary;
  row.listen_overflows = grew(tcp_end.listen_overflows, tcp_start.listen_overflows);
  row.listen_drops = grew(tcp_end.listen_drops, tcp_start.listen_drops);
  row.tcp_retransmits = grew(tcp_end.retransmits, tcp_start.retransmits);
  row.tcp_resets = grew(tcp_end.resets, tcp_start.resets);
  row.artifacts = write_artifacts(point, load, result, stages);
  std::vector<std::string> warnings = loadgen::warnings(load, result);
  if (profiler) {
    const std::optional<Profile> profile = profiler->finish(artifact_path(point));
    fill_profile(row, profile);
    if (profile && !profile->interpreter.empty()) warnings.push_back(interpreter_warning(*profile));
  }
  row.warnings = fmt::format("{}", fmt::join(warnings, "; "));
  row.error = point_failure(point, result, agents_error, server.poll_exit());
  row.timestamp = utc_now("%Y-%m-%dT%H:%M:%SZ");
  return row;
}

AgentsResult PointMeasurer::run(const loadgen::LoadConfig& load) {
  if (!config_.load_hosts.empty())
    return run_agents(load, config_.load_hosts, agent_clock_offsets(), cancel_);
  AgentsResult here;
  here.merged = loadgen::run_load(load, cancel_);
  return here;
}

double PointMeasurer::warm_up(const loadgen::LoadConfig& load) {
  loadgen::LoadConfig second = load;
  second.warmup = {};
  second.duration = std::chrono::seconds(1);
  second.idle_connections = 0;  // held by the window's load; not opened and closed every second
  second.interval_histograms = false;
  std::vector<double> figures;
  const auto began = Clock::now();
  while (Clock::now() - began < config_.warmup_cap && !(cancel_ != nullptr && *cancel_)) {
    const loadgen::LoadResult result = run(second).merged;
    // An open loop holds its rate whatever the server does: its latency moves instead.
    figures.push_back(load.rate > 0 ? result.latency.mean() : result.rps());
    if (settled(figures)) break;
  }
  return std::chrono::duration<double>(Clock::now() - began).count();
}

std::string PointMeasurer::artifact_name(const PointId& point) const {
  return fmt::format("{}/{}_c{}_r{:g}{}_{}_{}", fs::path(config_.out).stem().string(), point.model,
                     point.connections, point.rate,
                     point.idle_connections > 0 ? fmt::format("_i{}", point.idle_connections) : "",
                     point.repetition, slug(point.workload));
}

std::string PointMeasurer::artifact_path(const PointId& point) const {
  const fs::path prefix = fs::path(config_.out).parent_path() / artifact_name(point);
  fs::create_directories(prefix.parent_path());
  return prefix.string();
}

void PointMeasurer::discard(const PointId& point) const {
  const fs::path prefix = artifact_path(point);
  const std::string stem = prefix.filename().string() + ".";
  std::error_code ignored;
  for (const auto& entry : fs::directory_iterator(prefix.parent_path(), ignored))
    if (entry.path().filename().string().starts_with(stem)) fs::remove(entry.path(), ignored);
}

std::string PointMeasurer::write_artifacts(const PointId& point, const loadgen::LoadConfig& load,
                                           const loadgen::LoadResult& result,
                                           const std::optional<StageWindows>& stages) {
  const std::string prefix = artifact_path(point);
  std::ofstream(prefix + ".hist") << loadgen::format_histogram_file(result.latency);
  std::ofstream(prefix + ".timeline.csv") << loadgen::format_timeline_csv(load, result);
  loadgen::HlogFile log = loadgen::interval_log(load, result);
  // Each stage over the whole window, tagged with its name, each bucket's
  // samples at its middle.
  for (size_t i = 0; stages && i < servers::kStages; ++i) {
    loadgen::LatencyHistogram histogram;
    for (int b = 0; b < servers::kStageBuckets; ++b)
      if (const uint64_t n = (*stages)[i].buckets[static_cast<size_t>(b)])
        histogram.record_n(static_cast<uint64_t>(servers::stage_bucket_middle(b)), n);
    if (histogram.count() > 0)
      log.intervals.push_back(
          {std::string(servers::kStageNames[i]), 0, result.duration_s, histogram});
  }
  std::ofstream(prefix + ".hlog") << loadgen::format_interval_log(log);
  return artifact_name(point);
}

void PointMeasurer::write_agents_file(const PointId& point, const std::vector<HostSpec>& hosts,
                                      const std::vector<loadgen::LoadResult>& each) {
  std::ofstream(artifact_path(point) + ".agents.json") << agents_summary_json(hosts, each);
}

}  // namespace cmb::harness
