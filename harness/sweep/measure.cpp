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
#include "harness/sweep/server_watch.hpp"
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
  double sum = 0;
  bool all = true;
  for (size_t i = 0; i < servers::kStages; ++i) {
    const servers::StageHistogram& window = windows[i];
    if (window.count == 0) {
      all = false;
      continue;
    }
    row.stages[i].mean_us = window.mean_us();
    row.stages[i].p99_us = window.percentile_us(99);
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

// The server's CPU per request split by the profile's shares of samples.
void fill_profile(ResultRow& row, const Profile& profile) {
  for (const double us : profile.split(row.server_cpu_us_per_request))
    row.cpu_us_by_kind.push_back(us);
}

// The server's process tree over the window: CPU (per request the load
// counted), peak memory, switches and TCP's counters.
void fill_server_tree(ResultRow& row, const ServerWindow& window, uint64_t requests) {
  if (window.cpu_start && window.cpu_end) {
    row.server_user_s = window.cpu_end->user_s - window.cpu_start->user_s;
    row.server_system_s = window.cpu_end->system_s - window.cpu_start->system_s;
    if (requests > 0)
      row.server_cpu_us_per_request =
          (row.server_user_s + row.server_system_s) * 1e6 / static_cast<double>(requests);
  }
  row.server_rss_max_kb = window.peak.rss_kb;
  row.server_threads_max = window.peak.threads;
  row.server_processes_max = window.peak.processes;
  row.server_ctx_voluntary = window.voluntary;
  row.server_ctx_involuntary = window.involuntary;
  row.listen_overflows = window.tcp.listen_overflows;
  row.listen_drops = window.tcp.listen_drops;
  row.tcp_retransmits = window.tcp.retransmits;
  row.tcp_resets = window.tcp.resets;
}

// An own model's counters over the window: requests, refusals, accepts per
// acceptor and the stages; the stages' windows, for the .hlog.
std::optional<StageWindows> fill_server_counters(ResultRow& row, const ServerWindow& window,
                                                 double answered_mean_us) {
  const auto& start = window.counters_start;
  const auto& end = window.counters_end;
  if (!start || !end) return std::nullopt;
  row.server_requests = end->requests - start->requests;
  row.server_refused = end->refused - start->refused;
  row.server_timed_out = end->timed_out - start->timed_out;
  row.server_rejected = end->rejected - start->rejected;
  std::vector<uint64_t> accepts;
  for (size_t s = 0; s < servers::kCounterSlots; ++s)
    if ((end->acceptor_slots >> s) & 1)
      accepts.push_back(end->accepted_by_slot[s] - start->accepted_by_slot[s]);
  row.server_accepts_per_thread = fmt::format("{}", fmt::join(accepts, "|"));
  StageWindows stages = end->stages_since(*start);
  fill_stages(row, stages, answered_mean_us);
  if (window.counters_close) fill_waiting(row, window.counters_close->waiting);
  return stages;
}

// Per request the server counted; a server without our counters, per
// answer the load counted.
void fill_syscalls(ResultRow& row, std::optional<uint64_t> calls, uint64_t requests) {
  const uint64_t answered = row.server_requests.value_or(requests);
  if (calls && answered > 0)
    row.server_syscalls_per_request = static_cast<double>(*calls) / static_cast<double>(answered);
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

loadgen::LoadConfig PointMeasurer::load_for(const PointId& point, uint16_t port, ResultRow& row) {
  loadgen::LoadConfig load;
  load.targets = workload_targets(config_.host, port, point.workload);
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
  return load;
}

ResultRow PointMeasurer::measure(ServerProcess& server, const PointId& point) {
  ResultRow row = row_for(point, config_.model(point.model));
  loadgen::LoadConfig load = load_for(point, server.port(), row);
  const bool external = config_.model(point.model).external;
  const std::unique_ptr<ServerWatch> watch = watch_server(server, config_);
  load.on_window_open = [&watch] { watch->open_window(); };
  load.on_window_close = [&watch] { watch->close_window(); };
  if (!external)
    load.on_idle_connected = [&server, before = server.snapshot()](int open) {
      if (before) wait_for_accepts(server, before->accepted + static_cast<uint64_t>(open));
    };
  const AgentsResult load_run = run(load);
  const loadgen::LoadResult& result = load_run.merged;
  if (!config_.load_hosts.empty()) {
    row.load_hosts = load_hosts_text(config_.load_hosts);
    write_agents_file(point, config_.load_hosts, load_run.each);
  }
  const ServerWindow window = watch->finish();

  fill_load_figures(row, result);
  fill_server_tree(row, window, result.requests);
  std::optional<StageWindows> stages;  // an own model's: an external keeps none of our counters
  if (!external) stages = fill_server_counters(row, window, result.answered_mean_us());
  fill_syscalls(row, window.syscalls, result.requests);
  row.artifacts = write_artifacts(point, load, result, stages);
  std::vector<std::string> warnings = loadgen::warnings(load, result);
  if (const std::optional<Profile> profile = watch->profile(artifact_path(point))) {
    fill_profile(row, *profile);
    if (!profile->interpreter.empty()) warnings.push_back(interpreter_warning(*profile));
  }
  row.warnings = fmt::format("{}", fmt::join(warnings, "; "));
  row.error = point_failure(point, result, load_run.error, server.poll_exit());
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
