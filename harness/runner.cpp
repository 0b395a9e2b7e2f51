#include "harness/runner.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sched.h>
#include <signal.h>
#include <sys/utsname.h>
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

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
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

struct Point {
  std::string model;
  std::string workload;
  int connections;
  double rate;
  int repetition;

  std::string key() const {
    return fmt::format("{}|{}|{}|{:g}|{}", model, workload, connections, rate, repetition);
  }
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

ResultRow row_for(const SweepConfig& config, const Point& point) {
  ResultRow row;
  row.timestamp = utc_now("%Y-%m-%dT%H:%M:%SZ");
  row.model = point.model;
  row.workload = point.workload;
  row.connections = point.connections;
  row.rate = point.rate;
  row.server_threads = parse_model_spec(point.model, config.server_threads).threads;
  row.repetition = point.repetition;
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

  ResultRow measure(ServerProcess& server, const Point& point) {
    ResultRow row = row_for(config_, point);
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

    ServerSampler sampler(server.pid(), Clock::now() + load.warmup);
    const loadgen::LoadResult result = loadgen::run_load(load, &g_interrupted);
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
  std::string write_artifacts(const Point& point, const loadgen::LoadResult& result) {
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

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

std::string git_commit() {
  const std::string command =
      fmt::format("git -C '{}' rev-parse --short HEAD 2>/dev/null", CMB_SOURCE_DIR);
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return "unknown";
  char text[64] = {};
  const bool got = std::fgets(text, sizeof text, pipe) != nullptr;
  ::pclose(pipe);
  std::string commit = got ? text : "unknown";
  while (!commit.empty() && (commit.back() == '\n' || commit.back() == '\r')) commit.pop_back();
  return commit;
}

// The machine and the run, beside the CSV (same name, .json), so a result
// says where it came from. Written through a rename: never half a file.
void write_manifest(const SweepConfig& config, const std::string& started,
                    const std::string& finished) {
  utsname name{};
  ::uname(&name);
  std::string models;
  for (const auto& model : config.models) {
    const auto info = servers::find_model(model);
    models +=
        fmt::format("{}{{\"name\": {}, \"summary\": {}}}", models.empty() ? "" : ", ",
                    loadgen::json_quote(model), loadgen::json_quote(info ? info->summary : ""));
  }
  const std::string json = fmt::format(
      "{{\n  \"scenario\": {},\n  \"question\": {},\n  \"expect\": {},\n  \"command\": {},\n"
      "  \"git_commit\": {},\n  \"started\": {},\n  \"finished\": {},\n  \"kernel\": {},\n"
      "  \"cpu_model\": {},\n  \"cores\": {},\n  \"server_cpus\": [{}],\n  \"load_cpus\": [{}],\n"
      "  \"somaxconn\": {},\n  \"tcp_tw_reuse\": {},\n  \"ip_local_port_range\": {},\n  "
      "\"models\": [{}]\n}}\n",
      loadgen::json_quote(config.scenario), loadgen::json_quote(config.question),
      loadgen::json_quote(config.expect), loadgen::json_quote(config.command_line),
      loadgen::json_quote(git_commit()), loadgen::json_quote(started),
      loadgen::json_quote(finished),
      loadgen::json_quote(fmt::format("{} {} {}", name.sysname, name.release, name.version)),
      loadgen::json_quote(cpu_model()), std::thread::hardware_concurrency(),
      fmt::join(config.server_cpus, ", "), fmt::join(config.load_cpus, ", "),
      loadgen::json_quote(read_first_line("/proc/sys/net/core/somaxconn")),
      loadgen::json_quote(read_first_line("/proc/sys/net/ipv4/tcp_tw_reuse")),
      loadgen::json_quote(read_first_line("/proc/sys/net/ipv4/ip_local_port_range")), models);
  const fs::path path = fs::path(config.out).replace_extension(".json");
  write_file_atomically(path.string(), json);
}

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

uint64_t error_total(const ResultRow& row) {
  return row.errors_connect + row.errors_read + row.errors_write + row.errors_timeout +
         row.errors_status;
}

// Per model: the best throughput and the p99 there; for rate sweeps, the
// knee — the highest offered rate whose p99 stays under the SLO with at most
// 0.1 % errors.
void print_summary(const SweepConfig& config, const std::vector<ResultRow>& rows) {
  fmt::print("\n{:<22} {:>12} {:>12} {:>14}\n", "model", "best req/s", "p99 there", "knee");
  for (const auto& model : config.models) {
    const ResultRow* best = nullptr;
    double knee = -1;
    for (const auto& row : rows) {
      if (row.model != model || !row.error.empty()) continue;
      if (best == nullptr || row.rps > best->rps) best = &row;
      const double attempts = static_cast<double>(row.requests + error_total(row));
      if (row.rate > 0 && row.latency_p99_us <= config.slo_p99_ms * 1000 &&
          static_cast<double>(error_total(row)) <= 0.001 * attempts)
        knee = std::max(knee, row.rate);
    }
    if (best == nullptr) {
      fmt::print("{:<22} {:>12}\n", model, "no data");
      continue;
    }
    const bool rate_sweep =
        std::any_of(config.rates.begin(), config.rates.end(), [](double r) { return r > 0; });
    fmt::print("{:<22} {:>12.1f} {:>12} {:>14}\n", model, best->rps,
               loadgen::format_nanos(best->latency_p99_us * 1000),
               !rate_sweep ? "-"
               : knee < 0  ? "none"
                           : fmt::format("{:g} req/s", knee));
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
  std::set<std::string> done;
  if (config.resume && fs::exists(config.out)) {
    for (const auto& fields : read_csv_rows(config.out)) {
      // model, workload, connections, rate, repetition are columns 1, 2, 3, 4, 6; error is last.
      if (fields.size() == csv_columns().size() && fields.back().empty())
        done.insert(
            fmt::format("{}|{}|{}|{}|{}", fields[1], fields[2], fields[3], fields[4], fields[6]));
    }
  }
  CsvWriter csv(config.out);
  const std::string started = utc_now("%Y-%m-%dT%H:%M:%SZ");
  write_manifest(config, started, "");

  // Repetitions are the outer loop: each round measures every model once, so
  // a disturbance of a few seconds touches one sample of each model instead
  // of every sample of one (which a significance test would call real).
  std::vector<Point> points;
  for (int rep = 1; rep <= config.repeat; ++rep)
    for (const auto& model : config.models)
      for (const auto& workload : config.workloads)
        for (double rate : config.rates)
          for (int connections : config.connections) {
            Point point{model, workload, connections, rate, rep};
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
    const Point& point = points[i];
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
      row = row_for(config, point);
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
                 loadgen::format_nanos(row.latency_p99_us * 1000), error_total(row), eta);
    } else {
      fmt::print("{} FAILED: {}\n", label, row.error);
    }
    std::fflush(stdout);
  }
  server.reset();
  write_manifest(config, started, utc_now("%Y-%m-%dT%H:%M:%SZ"));
  if (g_interrupted) {
    fmt::print("interrupted: {} points kept in {}; --resume continues\n", rows.size(), config.out);
    return 130;
  }
  print_summary(config, rows);
  fmt::print("\nCSV: {}\nmanifest: {}\n", config.out,
             fs::path(config.out).replace_extension(".json").string());
  if (config.plots)
    for (const auto& chart : draw_plots(config.out, config.charts_dir))
      fmt::print("chart: {}\n", chart);
  return 0;
}

}  // namespace cmb::harness
