#include "harness/runner.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "harness/csv.hpp"
#include "harness/files.hpp"
#include "harness/proc_stats.hpp"
#include "harness/server_process.hpp"
#include "loadgen/engine.hpp"
#include "loadgen/hist_file.hpp"
#include "loadgen/report.hpp"
#include "loadgen/units.hpp"
#include "servers/registry.hpp"

#ifndef CMB_SOURCE_DIR
#define CMB_SOURCE_DIR "."
#endif

namespace cmb::harness {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

// Set by SIGINT/SIGTERM: the current point ends early and is not recorded.
std::atomic<bool> g_interrupted{false};

void on_interrupt(int) { g_interrupted.store(true); }

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  return cpus;
}

std::string utc_now(const char* format) {
  const std::time_t now = std::time(nullptr);
  std::tm utc;
  ::gmtime_r(&now, &utc);
  char text[64];
  std::strftime(text, sizeof text, format, &utc);
  return text;
}

std::string slug(std::string_view text) {
  std::string out;
  for (char c : text)
    out += std::isalnum(static_cast<unsigned char>(c)) || c == '=' || c == '.' ? c : '_';
  return out.empty() ? "hello" : out;
}

// Samples the server's process tree while a point runs: memory, threads,
// processes and context switches every 50 ms, CPU and TCP counters when the
// measured window opens (warm-up is not charged).
class ServerSampler {
 public:
  ServerSampler(pid_t pid, Clock::time_point measure_start)
      : pid_(pid), thread_([this, measure_start] { loop(measure_start); }) {}
  ~ServerSampler() { finish(); }

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
  void loop(Clock::time_point measure_start) {
    std::unique_lock lock(mutex_);
    if (wake_.wait_until(lock, measure_start, [&] { return done_; })) return;
    cpu_at_start_ = read_tree_cpu(pid_);
    tcp_at_start_ = read_tcp_counters();
    switches_.start(read_tree_switches(pid_));
    do {
      if (auto memory = read_tree_memory(pid_)) {
        peak_.rss_kb = std::max(peak_.rss_kb, memory->rss_kb);
        peak_.threads = std::max(peak_.threads, memory->threads);
        peak_.processes = std::max(peak_.processes, memory->processes);
      }
      switches_.sample(read_tree_switches(pid_));
    } while (!wake_.wait_for(lock, std::chrono::milliseconds(50), [&] { return done_; }));
    switches_.sample(read_tree_switches(pid_));
  }

  pid_t pid_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  std::optional<TreeCpu> cpu_at_start_;
  TcpCounters tcp_at_start_;
  TreeMemory peak_;
  SwitchCounter switches_;
  std::thread thread_;  // last: starts after the members it uses exist
};

// "thread-pool:32": a model with its own --threads, so one sweep can give a
// pool as many workers as it has connections while other models keep theirs.
struct ModelSpec {
  std::string name;
  int threads;
};

ModelSpec parse_model_spec(const std::string& model, int default_threads) {
  const size_t colon = model.find(':');
  if (colon == std::string::npos) return {model, default_threads};
  return {model.substr(0, colon), std::stoi(model.substr(colon + 1))};
}

ResultRow row_for(const PointId& point) {
  ResultRow row;
  static_cast<PointId&>(row) = point;
  row.timestamp = utc_now("%Y-%m-%dT%H:%M:%SZ");
  return row;
}

// "bytes=13@95|sleep_us=20000@5" -> two weighted targets on one server.
std::vector<loadgen::Target> targets_for(const SweepConfig& config, uint16_t port,
                                         const std::string& workload) {
  const std::string host =
      config.host.find(':') != std::string::npos ? "[" + config.host + "]" : config.host;
  std::vector<loadgen::Target> targets;
  std::stringstream parts(workload);
  for (std::string part; std::getline(parts, part, '|');) {
    const size_t at = part.rfind('@');
    const std::string query = at == std::string::npos ? part : part.substr(0, at);
    loadgen::Target target = loadgen::parse_target(
        fmt::format("http://{}:{}/{}{}{}", host, port, query.empty() ? "" : "?", query,
                    at == std::string::npos ? "" : part.substr(at)));
    targets.push_back(target);
  }
  if (targets.empty())
    targets.push_back(loadgen::parse_target(fmt::format("http://{}:{}/", host, port)));
  return targets;
}

void fill_load_figures(ResultRow& row, const loadgen::LoadResult& result) {
  const auto us = [](uint64_t nanos) { return static_cast<double>(nanos) / 1000.0; };
  row.duration_s = result.duration_s;
  row.requests = result.requests;
  row.rps = result.rps();
  row.errors_connect = result.errors.connect;
  row.errors_read = result.errors.read;
  row.errors_write = result.errors.write;
  row.errors_timeout = result.errors.timeout;
  row.errors_status = result.errors.status;
  row.latency_mean_us = result.latency.mean() / 1000.0;
  row.latency_p50_us = us(result.latency.percentile(50));
  row.latency_p90_us = us(result.latency.percentile(90));
  row.latency_p99_us = us(result.latency.percentile(99));
  row.latency_p999_us = us(result.latency.percentile(99.9));
  row.latency_max_us = us(result.latency.max());
  row.uncorrected_p99_us = us(result.uncorrected_latency.percentile(99));
  row.loadgen_cpu_s = result.cpu_user_s + result.cpu_system_s;
  row.loadgen_max_thread_busy = result.max_thread_busy();
}

class Sweep {
 public:
  explicit Sweep(const SweepConfig& config) : config_(config) {}

  ResultRow measure(ServerProcess& server, const PointId& point) {
    ResultRow row = row_for(point);
    loadgen::LoadConfig load;
    load.targets = targets_for(config_, server.port(), point.workload);
    load.connections = point.connections;
    load.threads = config_.load_threads;
    load.duration = config_.duration;
    load.warmup = config_.warmup;
    load.timeout = config_.timeout;
    load.rate = point.rate;
    load.keep_alive = config_.keep_alive;
    load.cpus = config_.load_cpus;
    if (config_.requests_per_connection > 0) {
      // Bendersky's clients: a fixed amount of work, timed to its end.
      load.max_requests = static_cast<uint64_t>(point.connections) *
                          static_cast<uint64_t>(config_.requests_per_connection);
      load.warmup = {};
      load.duration = std::chrono::minutes(10);
    }

    // The server's counters as the window opens (no request of the window
    // is sent before) and after it closes: between them, every request the
    // client counts, and those in flight at either edge.
    std::optional<servers::CounterValues> counters_start;
    load.on_window_open = [&] { counters_start = server.snapshot(); };
    ServerSampler sampler(server.pid(), Clock::now() + load.warmup);
    const loadgen::LoadResult result = loadgen::run_load(load, &g_interrupted);
    const std::optional<servers::CounterValues> counters_end = server.snapshot();
    const std::optional<TreeCpu> cpu_end = read_tree_cpu(server.pid());
    const TcpCounters tcp_end = read_tcp_counters();
    sampler.finish();

    fill_load_figures(row, result);
    if (const auto cpu_start = sampler.cpu_at_start(); cpu_start && cpu_end) {
      row.server_user_s = cpu_end->user_s - cpu_start->user_s;
      row.server_system_s = cpu_end->system_s - cpu_start->system_s;
      if (result.requests > 0)
        row.server_cpu_us_per_request =
            (row.server_user_s + row.server_system_s) * 1e6 / static_cast<double>(result.requests);
    }
    if (counters_start && counters_end) {
      row.server_requests = counters_end->requests - counters_start->requests;
      row.server_refused = counters_end->refused - counters_start->refused;
      row.server_timed_out = counters_end->timed_out - counters_start->timed_out;
      row.server_rejected = counters_end->rejected - counters_start->rejected;
    }
    row.server_rss_max_kb = sampler.peak().rss_kb;
    row.server_threads_max = sampler.peak().threads;
    row.server_processes_max = sampler.peak().processes;
    row.server_ctx_voluntary = sampler.switches().voluntary();
    row.server_ctx_involuntary = sampler.switches().involuntary();
    const TcpCounters start = sampler.tcp_at_start();
    row.listen_overflows = tcp_end.listen_overflows - start.listen_overflows;
    row.listen_drops = tcp_end.listen_drops - start.listen_drops;
    row.tcp_retransmits = tcp_end.retransmits - start.retransmits;
    row.tcp_resets = tcp_end.resets - start.resets;
    row.artifacts = write_artifacts(point, result);
    if (const std::string ended = server.poll_exit(); !ended.empty())
      row.error = "server " + ended + " during the point";
    row.timestamp = utc_now("%Y-%m-%dT%H:%M:%SZ");
    return row;
  }

 private:
  // The point's latency histogram and timeline beside the CSV; returns their
  // path prefix relative to the CSV's folder.
  std::string write_artifacts(const PointId& point, const loadgen::LoadResult& result) {
    const fs::path csv(config_.out);
    const std::string folder = csv.stem().string();
    const std::string name = fmt::format("{}_c{}_r{:g}_{}_{}", point.model, point.connections,
                                         point.rate, point.repetition, slug(point.workload));
    const fs::path prefix = csv.parent_path() / folder / name;
    fs::create_directories(prefix.parent_path());
    std::ofstream(prefix.string() + ".hist") << loadgen::format_histogram_file(result.latency);
    std::ofstream(prefix.string() + ".timeline.csv") << loadgen::format_timeline_csv(result);
    return folder + "/" + name;
  }

  const SweepConfig& config_;
};

// Draws the charts with the Debian interpreter when it has matplotlib.
std::vector<std::string> draw_plots(const std::string& csv, const std::string& out_dir) {
  const char* python = "/usr/bin/python3";
  if (::access(python, X_OK) != 0 ||
      std::system("/usr/bin/python3 -c 'import matplotlib, pandas' >/dev/null 2>&1") != 0) {
    fmt::print(stderr,
               "note: no charts: /usr/bin/python3 lacks matplotlib or pandas "
               "(apt-get install python3-matplotlib python3-pandas)\n");
    return {};
  }
  fs::path script = "plots/plot_results.py";
  if (!fs::exists(script)) script = fs::path(CMB_SOURCE_DIR) / script;
  const std::string command =
      fmt::format("{} '{}' '{}' --out-dir '{}'", python, script.string(), csv, out_dir);
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return {};
  std::vector<std::string> written;
  char line[4096];
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    std::string path(line);
    while (!path.empty() && (path.back() == '\n' || path.back() == '\r')) path.pop_back();
    if (!path.empty()) written.push_back(path);
  }
  if (const int status = ::pclose(pipe); status != 0)
    fmt::print(stderr, "warning: plotting failed (status {})\n", status);
  return written;
}

// Per model: the best throughput and the p99 there; for rate sweeps, the
// knee under the SLO (harness/results.hpp has the rule).
void print_summary(const SweepConfig& config, const SweepSummary& summary) {
  fmt::print("\n{:<22} {:>12} {:>12} {:>14}\n", "model", "best req/s", "p99 there",
             fmt::format("knee (p99 {:g} ms)", config.slo_p99_ms));
  for (const auto& model : config.models) {
    const auto it = std::find_if(summary.models.begin(), summary.models.end(),
                                 [&](const ModelSummary& m) { return m.model == model; });
    if (it == summary.models.end()) {
      fmt::print("{:<22} {:>12}\n", model, "no data");
      continue;
    }
    fmt::print("{:<22} {:>12.1f} {:>12} {:>14}\n", model, it->best_rps,
               loadgen::format_nanos(it->p99_at_best_us * 1000),
               !summary.rate_sweep ? "-"
               : it->knee_rate     ? fmt::format("{:g} req/s", *it->knee_rate)
                                   : "none");
  }
}

}  // namespace

std::string find_scenario(const std::string& name) {
  std::vector<fs::path> candidates;
  if (name.ends_with(".toml")) candidates.push_back(name);
  for (const fs::path& dir : {fs::path("scenarios"), fs::path(CMB_SOURCE_DIR) / "scenarios"})
    candidates.push_back(dir / (name + ".toml"));
  for (const auto& candidate : candidates)
    if (fs::is_regular_file(candidate)) return candidate.string();
  std::set<std::string> known;
  for (const fs::path& dir : {fs::path("scenarios"), fs::path(CMB_SOURCE_DIR) / "scenarios"}) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.path().extension() == ".toml") known.insert(entry.path().stem().string());
  }
  throw std::invalid_argument(
      fmt::format("no scenario '{}' (known: {})", name, fmt::join(known, ", ")));
}

std::chrono::milliseconds server_header_timeout(const SweepConfig& config) {
  std::chrono::milliseconds longest{0};
  for (double rate : config.rates) {
    if (rate <= 0) continue;
    for (int connections : config.connections) {
      const auto gap =
          std::chrono::milliseconds(static_cast<int64_t>(2000.0 * connections / rate) + 1);
      if (gap > std::chrono::seconds(10)) longest = std::max(longest, gap);
    }
  }
  return longest;
}

int run_sweep(SweepConfig config) {
  if (config.models.empty()) throw std::invalid_argument("no models to run");
  if (config.rates.empty()) config.rates = {0};
  if (config.pin && config.server_cpus.empty() && config.load_cpus.empty()) {
    const std::vector<int> cpus = allowed_cpus();
    if (cpus.size() >= 2) {
      const auto half = static_cast<std::ptrdiff_t>(cpus.size() / 2);
      config.server_cpus.assign(cpus.begin(), cpus.begin() + half);
      config.load_cpus.assign(cpus.begin() + half, cpus.end());
    } else {
      fmt::print(stderr, "warning: one CPU only: server and load generator share it\n");
    }
  }
  if (!config.pin) {
    config.server_cpus.clear();
    config.load_cpus.clear();
  }
  if (config.out.empty())
    config.out = fmt::format("results/{}-{}.csv", config.scenario.empty() ? "run" : config.scenario,
                             utc_now("%Y%m%d-%H%M%S"));
  std::set<std::string> done;  // PointId::key() of the points --resume skips
  if (config.resume && fs::exists(config.out)) {
    const CsvTable table = read_csv_table(config.out);
    const PointReader reader(table);
    const int error = table.column("error");
    for (const auto& row : table.rows)
      if (row.size() == table.header.size() && error >= 0 &&
          row[static_cast<size_t>(error)].empty())
        done.insert(reader.read(row).key());
  }
  CsvWriter csv(config.out);
  const std::string started = utc_now("%Y-%m-%dT%H:%M:%SZ");
  write_manifest(config, started, "", nullptr);

  // Repetitions are the outer loop: each round measures every model once, so
  // a disturbance of a few seconds touches one sample of each model instead
  // of every sample of one (which a significance test would call real).
  std::vector<PointId> points;
  for (int rep = 1; rep <= config.repeat; ++rep)
    for (const auto& model : config.models)
      for (const auto& workload : config.workloads)
        for (double rate : config.rates)
          for (int connections : config.connections) {
            const PointId point{model,    parse_model_spec(model, config.server_threads).threads,
                                workload, connections,
                                rate,     rep};
            if (!done.count(point.key())) points.push_back(point);
          }

  if (!config.question.empty()) fmt::print("{}\n", config.question);
  if (!config.expect.empty()) fmt::print("Expected: {}\n", config.expect);
  fmt::print("cmbench run{}: {} points{}, {} + {} warm-up each; server CPUs [{}], load CPUs [{}]\n",
             config.scenario.empty() ? "" : " " + config.scenario, points.size(),
             done.empty() ? "" : fmt::format(" ({} already in the CSV)", done.size()),
             loadgen::format_nanos(static_cast<double>(config.duration.count())),
             loadgen::format_nanos(static_cast<double>(config.warmup.count())),
             fmt::join(config.server_cpus, ","), fmt::join(config.load_cpus, ","));
  std::fflush(stdout);

  struct sigaction action {};
  action.sa_handler = on_interrupt;
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);

  Sweep sweep(config);
  std::vector<ResultRow> rows;
  const auto sweep_start = Clock::now();
  const std::chrono::milliseconds header_timeout = server_header_timeout(config);
  std::unique_ptr<ServerProcess> server;
  std::string current_model;
  for (size_t i = 0; i < points.size() && !g_interrupted; ++i) {
    const PointId& point = points[i];
    if (point.model != current_model || (server && !server->poll_exit().empty())) {
      server.reset();  // a new model, or the old one died: start afresh
      current_model = point.model;
    }
    ResultRow row;
    try {
      if (!server) {
        const ModelSpec spec = parse_model_spec(point.model, config.server_threads);
        server = std::make_unique<ServerProcess>(
            ServerProcess::Options{.model = spec.name,
                                   .host = config.host,
                                   .threads = spec.threads,
                                   .cpus = config.server_cpus,
                                   .header_timeout = header_timeout});
      }
      row = sweep.measure(*server, point);
    } catch (const std::exception& e) {
      row = row_for(point);
      row.error = e.what();
      server.reset();
    }
    if (g_interrupted) break;  // a cut-short point is not a result
    csv.write(row);
    rows.push_back(row);
    const double elapsed = std::chrono::duration<double>(Clock::now() - sweep_start).count();
    const double eta =
        elapsed / static_cast<double>(i + 1) * static_cast<double>(points.size() - i - 1);
    const std::string label =
        fmt::format("[{}/{}] {:<22} {:<18} c={:<5}{}", i + 1, points.size(), point.model,
                    point.workload.empty() ? "hello" : point.workload, point.connections,
                    point.rate > 0 ? fmt::format(" R={:<7g}", point.rate) : "");
    if (row.error.empty()) {
      fmt::print("{} {:>10.1f} req/s  p99 {:>9}  errors {}  (ETA {:.0f}s)\n", label, row.rps,
                 loadgen::format_nanos(row.latency_p99_us * 1000), row.errors(), eta);
    } else {
      fmt::print("{} FAILED: {}\n", label, row.error);
    }
    std::fflush(stdout);
  }
  server.reset();
  // Over the whole CSV: with --resume it holds earlier runs' points too.
  const SweepSummary summary =
      summarize(read_result_rows(config.out), config.models, config.slo_p99_ms);
  write_manifest(config, started, utc_now("%Y-%m-%dT%H:%M:%SZ"), &summary);
  if (g_interrupted) {
    fmt::print("interrupted: {} points kept in {}; --resume continues\n", rows.size(), config.out);
    return 130;
  }
  print_summary(config, summary);
  fmt::print("\nCSV: {}\nmanifest: {}\n", config.out,
             fs::path(config.out).replace_extension(".json").string());
  if (config.plots)
    for (const auto& chart : draw_plots(config.out, config.charts_dir))
      fmt::print("chart: {}\n", chart);
  return 0;
}

}  // namespace cmb::harness
