#include "harness/runner.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "harness/csv.hpp"
#include "harness/proc_stats.hpp"
#include "harness/server_process.hpp"
#include "loadgen/engine.hpp"
#include "loadgen/units.hpp"

#ifndef CMB_SOURCE_DIR
#define CMB_SOURCE_DIR "."
#endif

namespace cmb::harness {
namespace {

using Clock = std::chrono::steady_clock;

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

// Samples the server's memory and threads while a point runs, and its CPU
// time when the measured window opens, so warm-up CPU is not charged.
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
  std::optional<ProcessCpu> cpu_at_start() const { return cpu_at_start_; }
  uint64_t rss_max_kb() const { return rss_max_kb_; }
  int threads_max() const { return threads_max_; }

 private:
  void loop(Clock::time_point measure_start) {
    std::unique_lock lock(mutex_);
    if (wake_.wait_until(lock, measure_start, [&] { return done_; })) return;
    cpu_at_start_ = read_process_cpu(pid_);
    do {
      if (auto memory = read_process_memory(pid_)) {
        rss_max_kb_ = std::max(rss_max_kb_, memory->rss_kb);
        threads_max_ = std::max(threads_max_, memory->threads);
      }
    } while (!wake_.wait_for(lock, std::chrono::milliseconds(50), [&] { return done_; }));
  }

  pid_t pid_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  std::optional<ProcessCpu> cpu_at_start_;
  uint64_t rss_max_kb_ = 0;
  int threads_max_ = 0;
  std::thread thread_;  // last: starts after the members it uses exist
};

struct Point {
  std::string model;
  std::string workload;
  int connections;
  int repetition;
};

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
  row.loadgen_cpu_s = result.cpu_user_s + result.cpu_system_s;
}

ResultRow measure_point(const SweepConfig& config, ServerProcess& server, const Point& point) {
  ResultRow row;
  row.model = point.model;
  row.workload = point.workload;
  row.connections = point.connections;
  row.server_threads = config.server_threads;
  row.repetition = point.repetition;

  loadgen::LoadConfig load;
  load.targets = {{loadgen::parse_url(fmt::format(
      "http://{}:{}{}{}{}",
      config.host.find(':') != std::string::npos ? "[" + config.host + "]" : config.host,
      server.port(), config.path, point.workload.empty() ? "" : "?", point.workload))}};
  load.connections = point.connections;
  load.threads = config.load_threads;
  load.duration = config.duration;
  load.warmup = config.warmup;
  load.timeout = config.timeout;
  load.cpus = config.load_cpus;

  ServerSampler sampler(server.pid(), Clock::now() + config.warmup);
  const loadgen::LoadResult result = loadgen::run_load(load);
  const std::optional<ProcessCpu> cpu_end = read_process_cpu(server.pid());
  sampler.finish();
  fill_load_figures(row, result);
  if (const auto cpu_start = sampler.cpu_at_start(); cpu_start && cpu_end) {
    row.server_user_s = cpu_end->user_s - cpu_start->user_s;
    row.server_system_s = cpu_end->system_s - cpu_start->system_s;
    if (result.requests > 0)
      row.server_cpu_us_per_request =
          (row.server_user_s + row.server_system_s) * 1e6 / static_cast<double>(result.requests);
  }
  row.server_rss_max_kb = sampler.rss_max_kb();
  row.server_threads_max = sampler.threads_max();
  if (const std::string ended = server.poll_exit(); !ended.empty())
    row.error = "server " + ended + " during the point";
  row.timestamp = utc_now("%Y-%m-%dT%H:%M:%SZ");
  return row;
}

std::string default_out_path() { return "results/run-" + utc_now("%Y%m%d-%H%M%S") + ".csv"; }

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
  std::filesystem::path script = "plots/plot_results.py";
  if (!std::filesystem::exists(script)) script = std::filesystem::path(CMB_SOURCE_DIR) / script;
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
  const int status = ::pclose(pipe);
  if (status != 0) fmt::print(stderr, "warning: plotting failed (status {})\n", status);
  return written;
}

}  // namespace

int run_sweep(SweepConfig config) {
  if (config.models.empty()) throw std::invalid_argument("no models to run");
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
  if (config.out.empty()) config.out = default_out_path();
  CsvWriter csv(config.out);

  std::vector<Point> points;
  for (const auto& model : config.models)
    for (const auto& workload : config.workloads)
      for (int connections : config.connections)
        for (int rep = 1; rep <= config.repeat; ++rep)
          points.push_back({model, workload, connections, rep});

  fmt::print("cmbench run: {} points, {} + {} warm-up each; server CPUs [{}], load CPUs [{}]\n",
             points.size(), loadgen::format_nanos(static_cast<double>(config.duration.count())),
             loadgen::format_nanos(static_cast<double>(config.warmup.count())),
             fmt::join(config.server_cpus, ","), fmt::join(config.load_cpus, ","));
  const double seconds_per_point =
      std::chrono::duration<double>(config.duration + config.warmup).count();
  std::unique_ptr<ServerProcess> server;
  std::string current_model;
  for (size_t i = 0; i < points.size(); ++i) {
    const Point& point = points[i];
    if (point.model != current_model || (server && !server->poll_exit().empty())) {
      server.reset();
      current_model = point.model;
    }
    ResultRow row;
    try {
      if (!server) {
        server = std::make_unique<ServerProcess>(ServerProcess::Options{
            point.model, config.host, config.server_threads, config.server_cpus});
      }
      row = measure_point(config, *server, point);
    } catch (const std::exception& e) {
      row = ResultRow{};
      row.timestamp = utc_now("%Y-%m-%dT%H:%M:%SZ");
      row.model = point.model;
      row.workload = point.workload;
      row.connections = point.connections;
      row.server_threads = config.server_threads;
      row.repetition = point.repetition;
      row.error = e.what();
      server.reset();
    }
    csv.write(row);
    const double eta = seconds_per_point * static_cast<double>(points.size() - i - 1);
    if (row.error.empty()) {
      fmt::print(
          "[{}/{}] {:<22} {:<18} c={:<4} {:>10.1f} req/s  p99 {:>9}  errors {}  (ETA {:.0f}s)\n",
          i + 1, points.size(), point.model, point.workload.empty() ? "hello" : point.workload,
          point.connections, row.rps, loadgen::format_nanos(row.latency_p99_us * 1000),
          row.errors_connect + row.errors_read + row.errors_write + row.errors_timeout +
              row.errors_status,
          eta);
    } else {
      fmt::print("[{}/{}] {:<22} {:<18} c={:<4} FAILED: {}\n", i + 1, points.size(), point.model,
                 point.workload.empty() ? "hello" : point.workload, point.connections, row.error);
    }
    std::fflush(stdout);
  }
  server.reset();

  fmt::print("CSV: {}\n", config.out);
  if (config.plots) {
    for (const auto& chart : draw_plots(config.out, config.charts_dir))
      fmt::print("chart: {}\n", chart);
  }
  return 0;
}

}  // namespace cmb::harness
