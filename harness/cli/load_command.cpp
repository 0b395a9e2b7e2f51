// `cmbench load`: wrk's and wrk2's flags, the summary or one JSON object,
// and the files a run may leave (timeline, --hist, --hlog); with --agent,
// one load agent of a harness on another host (harness/hosts/agents.hpp).
#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <future>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "harness/base/exit_codes.hpp"
#include "harness/base/files.hpp"
#include "harness/base/json.hpp"
#include "harness/base/proc_stats.hpp"
#include "harness/cli/subcommands.hpp"
#include "harness/hosts/agents.hpp"
#include "harness/results/cpu_kinds.hpp"
#include "harness/sweep/profiler.hpp"
#include "loadgen/hist_file.hpp"
#include "loadgen/hlog.hpp"
#include "loadgen/report.hpp"
#include "loadgen/units.hpp"
#include "loadgen/url.hpp"
#include "net/socket.hpp"
#include "net/uring.hpp"
#include "servers/counters.hpp"

namespace cmb::harness {
namespace {

// What `cmbench load` writes besides running the load.
struct LoadOutputs {
  bool json = false;
  bool latency_distribution = false;
  std::string timeline_path;
  std::string hist_path;
  std::string hlog_path;  // needs LoadConfig::interval_histograms
  bool agent = false;     // harness/hosts/agents.hpp's JSON line; ends when stdin closes
  int server_pid = 0;     // a `cmbench serve` here whose stages to read at the window's edges
  std::string profile;    // with server_pid, any server: where its CPU went (PREFIX.folded, ...)
};

// `load --profile PREFIX --server-pid PID`: where the server's CPU went over
// the window, as `run --profile` measures a point (sweep/profiler.hpp): its
// process tree's CPU at the window's edges, split by the kinds of perf's
// samples (per thread: this load does not know the server's CPUs).
class ProfileWatch {
 public:
  ProfileWatch(pid_t pid, std::string prefix)
      : pid_(pid), prefix_(std::move(prefix)), profiler_(pid, {}) {}
  void open() {
    cpu_start_ = read_tree_cpu(pid_);
    profiler_.start();
  }
  void close() {
    profiler_.stop();
    cpu_end_ = read_tree_cpu(pid_);
  }
  // Each kind's µs of the server's CPU per request; empty when perf
  // sampled nothing or the server's CPU could not be read.
  std::vector<std::pair<std::string, double>> finish(uint64_t requests) {
    const std::optional<Profile> profile = profiler_.finish(prefix_);
    if (!profile || !cpu_start_ || !cpu_end_ || requests == 0) return {};
    const double cpu_us =
        (cpu_end_->user_s + cpu_end_->system_s - cpu_start_->user_s - cpu_start_->system_s) * 1e6 /
        static_cast<double>(requests);
    const std::vector<double> parts = profile->split(cpu_us);
    std::vector<std::pair<std::string, double>> kinds;
    for (size_t i = 0; i < parts.size(); ++i) kinds.emplace_back(cpu_kinds()[i].name, parts[i]);
    return kinds;
  }

 private:
  pid_t pid_;
  std::string prefix_;
  Profiler profiler_;
  std::optional<TreeCpu> cpu_start_, cpu_end_;
};

void print_cpu_kinds(const std::vector<std::pair<std::string, double>>& kinds,
                     const std::string& prefix) {
  double total = 0;
  for (const auto& [kind, us] : kinds) total += us;
  fmt::print("Where the server's CPU went (perf), {:.2f} us per request:\n", total);
  for (const auto& [kind, us] : kinds) fmt::print("  {:<10} {:8.2f} us\n", kind, us);
  fmt::print("  stacks: {}.folded; flame graph: {}.flame.html\n", prefix, prefix);
}

Json load_json_object(const loadgen::LoadConfig& config, const loadgen::LoadResult& result);
std::string dump_json(const Json& json);

// Where the time went inside the server over the window (its own stamps),
// beside the client's mean over the same requests.
struct ServerSplit {
  std::array<servers::StageHistogram, servers::kStages> stages;
  double answered_mean_us;
  uint64_t unanswered;  // never answered, beside the stages' (the client's count)
  double unanswered_age_mean_us;
  // The client's mean less the four stages' (empty unless all four have samples).
  std::optional<double> unaccounted_us() const {
    double sum = 0;
    for (const auto& stage : stages) {
      if (stage.count == 0) return std::nullopt;
      sum += stage.mean_us();
    }
    return answered_mean_us - sum;
  }
};

// Whether the server recorded any stage: one started without --attribution
// records none (its counters still count).
bool recorded(const ServerSplit& split) {
  return std::any_of(split.stages.begin(), split.stages.end(),
                     [](const auto& stage) { return stage.count > 0; });
}

constexpr std::string_view kNoStages =
    "no stages recorded: start the server with `cmbench serve --attribution` to split each "
    "request's time into inbound, queued, service and outbound";

Json split_json(const ServerSplit& split) {
  Json json = Json::object();
  for (size_t i = 0; i < servers::kStages; ++i)
    json[std::string(servers::kStageNames[i])] = {
        {"count", split.stages[i].count},
        {"mean_us", json_number(split.stages[i].mean_us(), 1)},
        {"p99_us", json_number(split.stages[i].percentile_us(99), 1)}};
  if (const auto rest = split.unaccounted_us()) json["unaccounted_mean_us"] = json_number(*rest, 1);
  json["unanswered"] = split.unanswered;
  json["unanswered_age_mean_us"] = json_number(split.unanswered_age_mean_us, 1);
  if (!recorded(split)) json["note"] = kNoStages;
  return json;
}

void print_split(const ServerSplit& split) {
  if (!recorded(split)) {
    fmt::print("  Inside the server: {}\n", kNoStages);
    return;
  }
  std::string line;
  for (size_t i = 0; i < servers::kStages; ++i)
    line += fmt::format("  {} {}", servers::kStageNames[i],
                        loadgen::format_nanos(split.stages[i].mean_us() * 1000));
  if (const auto rest = split.unaccounted_us())
    line += fmt::format("  unaccounted {}", loadgen::format_nanos(*rest * 1000));
  fmt::print("  Inside the server (means of the answered):\n  {}\n", line.substr(2));
  if (split.unanswered > 0)
    fmt::print("  and {} never answered, mean age {}\n", split.unanswered,
               loadgen::format_nanos(split.unanswered_age_mean_us * 1000));
}

// "K/N" (1 <= K <= N): agent K of N, as the 0-based segment and the count.
std::pair<int, int> parse_segment(const std::string& text) {
  int k = 0, n = 0;
  char slash = 0, extra = 0;
  if (std::sscanf(text.c_str(), "%d%c%d%c", &k, &slash, &n, &extra) != 3 || slash != '/' || k < 1 ||
      n < 1 || k > n || n > 1000)
    throw std::invalid_argument(
        fmt::format("segment '{}': expected K/N with 1 <= K <= N <= 1000", text));
  return {k - 1, n};
}

const CLI::Validator kSegment =
    validator([](const std::string& text) { parse_segment(text); }, "K/N");

Json latency_json(const loadgen::LatencyHistogram& h) {
  const auto us = [](double nanos) { return json_number(nanos / 1000.0, 1); };
  const auto p = [&](double pct) { return us(static_cast<double>(h.percentile(pct))); };
  return {{"min", us(static_cast<double>(h.min()))},
          {"mean", us(h.mean())},
          {"p50", p(50)},
          {"p90", p(90)},
          {"p99", p(99)},
          {"p999", p(99.9)},
          {"p9999", p(99.99)},
          {"max", us(static_cast<double>(h.max()))}};
}

// The first response-parse error of a run that parsed no response at all;
// empty otherwise.
std::string non_http_reply(const loadgen::LoadResult& result) {
  if (result.requests > 0 || result.errors.status > 0) return {};
  for (const auto& [detail, count] : result.error_details)
    if (detail.rfind(loadgen::kNotHttp, 0) == 0) return detail.substr(loadgen::kNotHttp.size());
  return {};
}

// `load --server-pid PID`: what the load reads of a server on this machine
// at the window's edges, while the load threads wait there (as `cmbench
// run` reads it): a `cmbench serve`'s own counters, for where the time
// went inside it, and with --profile where its CPU went (any server).
class ServerPidWatch {
 public:
  explicit ServerPidWatch(const LoadOutputs& outputs) : prefix_(outputs.profile) {
    if (outputs.agent) throw UsageError("--server-pid is not for an agent of `cmbench run`");
    try {
      counters_.emplace(servers::CounterFile::of_process(outputs.server_pid));
    } catch (const std::exception& error) {
      // Any server may be profiled; only a `cmbench serve` has stages.
      if (prefix_.empty()) throw UsageError(fmt::format("--server-pid: {}", error.what()));
    }
    if (prefix_.empty()) return;
    if (const std::string why = Profiler::unavailable_reason(); !why.empty())
      fmt::print(stderr, "warning: --profile: {}\n", why);
    else
      profile_.emplace(outputs.server_pid, prefix_);
  }

  void hook(loadgen::LoadConfig& run) {
    run.on_window_open = [this] {
      if (counters_) at_open_ = counters_->read();
      if (profile_) profile_->open();
    };
    run.on_window_close = [this] {
      if (profile_) profile_->close();
    };
  }

  void finish(const loadgen::LoadResult& result) {
    if (counters_ && at_open_)
      split_ = ServerSplit{counters_->read().stages_since(*at_open_), result.answered_mean_us(),
                           result.unanswered(), result.unanswered_age_mean_us()};
    if (profile_) kinds_ = profile_->finish(result.requests);
  }

  void add_to(Json& json) const {
    if (split_) json["server_stages"] = split_json(*split_);
    if (kinds_.empty()) return;
    json["server_cpu_us_by_kind"] = Json::object();
    for (const auto& [kind, us] : kinds_) json["server_cpu_us_by_kind"][kind] = json_number(us, 3);
  }

  void print() const {
    if (split_) print_split(*split_);
    if (!kinds_.empty()) print_cpu_kinds(kinds_, prefix_);
  }

 private:
  std::string prefix_;
  std::optional<servers::CounterFile> counters_;
  std::optional<servers::CounterValues> at_open_;
  std::optional<ProfileWatch> profile_;
  std::optional<ServerSplit> split_;
  std::vector<std::pair<std::string, double>> kinds_;
};

// An agent of `cmbench run --load-hosts` says "ready" once set up, and its
// harness answers with the start instant once every agent is ready. At the
// measured window's edge it says "edge" and waits, its load threads paused
// there, until the harness has read the server's counters and says "go":
// the barrier the threads of one generator have. It stops when the harness
// closes its stdin (or its SSH session ends), so it never outlives the run.
void answer_to_the_harness(loadgen::LoadConfig& run, std::atomic<bool>& stdin_closed) {
  auto start = std::make_shared<std::promise<int64_t>>();
  auto go = std::make_shared<std::promise<void>>();
  run.await_start = [future = std::make_shared<std::future<int64_t>>(start->get_future())] {
    fmt::print("ready\n");
    std::fflush(stdout);
    return future->get();
  };
  run.on_window_open = [released = std::make_shared<std::future<void>>(go->get_future())] {
    fmt::print("edge\n");
    std::fflush(stdout);
    released->wait();
  };
  std::thread([start, go, &stdin_closed] {
    std::string line;
    int64_t at = 0;
    if (std::getline(std::cin, line)) {
      try {
        at = std::stoll(line);
      } catch (const std::exception&) {
      }
    }
    start->set_value(at);
    bool released = false;
    while (std::getline(std::cin, line))
      if (line == "go" && !released) {
        go->set_value();
        released = true;
      }
    stdin_closed.store(true);
    if (!released) go->set_value();  // nobody will say go: do not wait at the edge
  }).detach();
}

void write_outputs(const loadgen::LoadConfig& config, const LoadOutputs& outputs,
                   const loadgen::LoadResult& result) {
  if (!outputs.timeline_path.empty())
    write_file_atomically(outputs.timeline_path, loadgen::format_timeline_csv(config, result));
  if (!outputs.hist_path.empty())
    write_file_atomically(outputs.hist_path, loadgen::format_histogram_file(result.latency));
  if (!outputs.hlog_path.empty())
    write_file_atomically(outputs.hlog_path, loadgen::format_interval_log(config, result));
}

int load_command(const loadgen::LoadConfig& config, const LoadOutputs& outputs) {
  const loadgen::Url& url = config.targets.front().url;
  if (const std::string why = net::connect_problem(net::resolve(url.host, url.port)); !why.empty())
    throw UsageError(fmt::format("cannot connect to {}:{}: {}", url.host, url.port, why));
  if (!outputs.profile.empty() && outputs.server_pid <= 0)
    throw UsageError("--profile needs --server-pid: the server whose CPU to sample");
  static std::atomic<bool> stdin_closed{false};
  loadgen::LoadConfig run = config;
  std::optional<ServerPidWatch> server;
  if (outputs.server_pid > 0) server.emplace(outputs).hook(run);
  if (outputs.agent) answer_to_the_harness(run, stdin_closed);
  const loadgen::LoadResult result =
      loadgen::run_load(run, outputs.agent ? &stdin_closed : nullptr);
  if (outputs.agent) {
    fmt::print("{}\n", agent_result_json(result));
    return kExitOk;
  }
  if (server) server->finish(result);
  if (outputs.json) {
    Json json = load_json_object(config, result);
    if (server) server->add_to(json);
    json["warnings"] = loadgen::warnings(config, result);
    fmt::print("{}\n", dump_json(json));
  } else {
    loadgen::print_summary(stdout, config, result, outputs.latency_distribution);
    if (server) server->print();
  }
  for (const auto& warning : loadgen::warnings(config, result))
    fmt::print(stderr, "warning: {}\n", warning);
  write_outputs(config, outputs, result);
  // Not one response could be parsed, and what came back was not HTTP: the
  // URL points at some other service. Its figures above mean nothing.
  if (const std::string garbage = non_http_reply(result); !garbage.empty())
    throw UsageError(
        fmt::format("{}:{} does not answer HTTP/1.x ({})", url.host, url.port, garbage));
  return kExitOk;
}

}  // namespace

std::string load_json(const loadgen::LoadConfig& config, const loadgen::LoadResult& result) {
  return dump_json(load_json_object(config, result));
}

namespace {

// The open loop's rate: asked (a ramp's mean) and achieved, and the views
// only an open loop has.
void add_rate_json(Json& json, const loadgen::LoadConfig& config,
                   const loadgen::LoadResult& result) {
  json["rate"] = {
      {"target", config.rate},
      {"achieved", json_number(result.rps(), 2)},
      {"arrival", config.arrival == loadgen::Arrival::kPoisson ? "poisson" : "uniform"}};
  if (config.ramp.ramps()) json["rate"]["ramp"] = config.ramp.text();  // target: its mean
  json["uncorrected_latency_us"] = latency_json(result.uncorrected_latency);
  json["schedule_lag_us"] = latency_json(result.schedule_lag);
}

// This agent's share of a load made by several (--segment K/N).
Json segment_json(const loadgen::LoadConfig& config) {
  const auto share = [&config](uint64_t total) {
    return loadgen::segment_share(total, config.segment, config.segments).count;
  };
  return {{"k", config.segment + 1},
          {"n", config.segments},
          {"connections", share(static_cast<uint64_t>(config.connections))},
          {"idle_connections", share(static_cast<uint64_t>(config.idle_connections))},
          {"requests_budget", share(config.max_requests)}};
}

Json targets_json(const loadgen::LoadConfig& config, const loadgen::LoadResult& result) {
  Json targets = Json::array();
  for (size_t i = 0; i < config.targets.size(); ++i)
    targets.push_back({{"url", config.targets[i].url.to_string()},
                       {"weight", config.targets[i].weight},
                       {"requests", result.targets[i].requests},
                       {"latency_us", latency_json(result.targets[i].latency)}});
  return targets;
}

Json load_json_object(const loadgen::LoadConfig& config, const loadgen::LoadResult& result) {
  Json errors = Json::object();
  for (const auto& cause : loadgen::kErrorCauses) errors[cause.name] = result.errors.*cause.count;
  Json json = {{"url", config.targets.front().url.to_string()},
               {"connections", config.connections},
               {"threads", std::min(config.threads, config.connections)},
               {"keep_alive", config.keep_alive},
               {"pipeline", config.pipeline},
               {"requests", result.requests},
               {"sent", result.sent},
               {"in_flight_at_open", result.in_flight_at_open},
               {"abandoned", result.abandoned},
               {"unfinished", result.unfinished},
               {"unanswered", result.unanswered()},
               {"unanswered_age_mean_us", json_number(result.unanswered_age_mean_us(), 1)},
               {"connections_unanswered", result.connections_unanswered},
               {"duration_s", json_number(result.duration_s, 3)},
               {"rps", json_number(result.rps(), 2)},
               {"bytes_read", result.bytes_read},
               {"errors", errors},
               {"latency_us", latency_json(result.latency)}};
  if (config.rate > 0) add_rate_json(json, config, result);
  if (!config.keep_alive) json["connect_latency_us"] = latency_json(result.connect_latency);
  json["window_start_epoch_s"] = json_number(result.window_start_epoch_s, 6);
  if (config.segments > 1) json["segment"] = segment_json(config);
  if (config.idle_connections > 0)
    json["idle_connections"] = {{"asked", config.idle_connections},
                                {"open", result.idle_open},
                                {"failed", result.idle_failed},
                                {"closed_by_server", result.idle_closed},
                                {"first_error", result.idle_error}};
  json["error_details"] = Json::object();
  for (const auto& [what, count] : result.error_details) json["error_details"][what] = count;
  if (config.targets.size() > 1) json["targets"] = targets_json(config, result);
  json["loadgen_cpu_s"] = {{"user", json_number(result.cpu_user_s, 3)},
                           {"system", json_number(result.cpu_system_s, 3)}};
  json["loadgen_max_thread_busy"] = json_number(result.max_thread_busy(), 3);
  return json;
}

// Invalid UTF-8 (an error text from the system, a URL) is replaced, not thrown on.
std::string dump_json(const Json& json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

struct LoadFlags {
  std::vector<std::string> urls;
  loadgen::LoadConfig config;
  LoadOutputs outputs;
  // Shown by --help and the man page: LoadConfig's own defaults.
  std::string duration = loadgen::format_duration(loadgen::LoadConfig{}.duration);
  std::string warmup = loadgen::format_duration(loadgen::LoadConfig{}.warmup);
  std::string timeout = loadgen::format_duration(loadgen::LoadConfig{}.timeout);
  std::string think = loadgen::format_duration(loadgen::LoadConfig{}.think);
  std::string max_spin = loadgen::format_duration(loadgen::LoadConfig{}.max_spin);
  std::string arrival = "uniform", segment;
  std::string rate, step;  // -R N | A:B | A,B,C; --step T
  std::string engine{loadgen::io_engine_name(loadgen::LoadConfig{}.engine)};
  std::string agent_config;  // from `cmbench run`: the whole load as JSON
  bool no_keepalive = false;
  CLI::Option* duration_given = nullptr;
};

namespace {

// What is loaded, how hard and for how long: the URLs, connections,
// threads, the duration or a number of requests.
void add_what_flags(CLI::App& load, LoadFlags& o) {
  load.add_option("url", o.urls,
                  "http://host:port/path?query, several with @WEIGHT to mix them (same host)")
      ->required();
  load.add_option("-c,--connections", o.config.connections, "connections to keep open")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  load.add_option("-t,--threads", o.config.threads, "threads, each with its own event loop")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  o.duration_given =
      load.add_option("-d,--duration", o.duration, "measured duration (10s, 500ms, 2m)")
          ->capture_default_str()
          ->check(duration_check());
  auto* requests =
      load.add_option("--requests", o.config.max_requests,
                      "send exactly N requests and wait for their responses (instead of -d)")
          ->check(CLI::PositiveNumber);
  load.add_option("--warmup", o.warmup, "load before measuring, not recorded")
      ->capture_default_str()
      ->check(duration_check())
      ->excludes(requests);
  load.add_option("--timeout", o.timeout, "a request without a response by then is an error")
      ->capture_default_str()
      ->check(duration_check());
}

// How requests are paced: the open loop's rate and spacing, the closed
// loop's think time, and how a thread waits and does I/O.
void add_pace_flags(CLI::App& load, LoadFlags& o) {
  load.add_option("-R,--rate", o.rate,
                  "open loop: requests/s over all connections, latency from the intended send "
                  "time; A:B ramps linearly from A to B over -d, A,B,C steps (with --step)")
      ->check(validator(loadgen::parse_rate_profile, "RATE"));
  load.add_option("--step", o.step,
                  "with -R A,B,C: how long each rate lasts (-d defaults to all the steps)")
      ->check(duration_check());
  load.add_option("--arrival", o.arrival, "open-loop spacing: uniform or poisson")
      ->capture_default_str()
      ->check(CLI::IsMember({"uniform", "poisson"}));
  load.add_option("--max-spin", o.max_spin,
                  "open loop: poll at most this long before a due send instead of sleeping, to "
                  "send on time (0: never)")
      ->capture_default_str()
      ->check(duration_check());
  load.add_flag("--busy-poll", o.config.busy_poll,
                "never sleep: poll for responses and due sends in a loop, a whole CPU per "
                "thread, so that no response has to wake a thread (give --cpus of its own)");
  load.add_option("--engine", o.engine,
                  "how each thread does I/O: epoll (readiness) or io-uring (batched completions)")
      ->capture_default_str()
      ->check(CLI::IsMember([] {
        std::vector<std::string> names;
        for (const auto& known : loadgen::kIoEngines) names.emplace_back(known.name);
        return names;
      }()));
  load.add_option("--think", o.think, "closed loop: pause before each request")
      ->check(duration_check());
}

// The connections themselves: idle ones, pipelining, keep-alive, CPUs.
void add_connection_flags(CLI::App& load, LoadFlags& o) {
  load.add_option("--idle-connections", o.config.idle_connections,
                  "this many more connections that connect before the run and never send, held "
                  "to its end (from 127.0.0.2, .3, ... beyond 20 000 on loopback)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  load.add_option("--pipeline", o.config.pipeline, "requests in flight per connection")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  load.add_flag("--no-keepalive", o.no_keepalive, "a new connection for every request");
  load.add_option("--cpus", o.config.cpus, "pin load thread i to the i-th of these CPUs")
      ->delimiter(',');
}

// For `cmbench run --load-hosts`: one agent of several.
void add_agent_flags(CLI::App& load, LoadFlags& o) {
  load.add_option("--segment", o.segment,
                  "K/N: be agent K of N that together make this load: -c, --idle-connections and "
                  "--requests are totals shared out, and -R's schedule is one for all")
      ->check(kSegment);
  load.add_option("--agent-config", o.agent_config,
                  "the whole load as one JSON object, as `cmbench run` sends an agent (its "
                  "URLs too); the other load flags are not read")
      ->group("");
  load.add_flag("--agent", o.outputs.agent,
                "for `cmbench run --load-hosts`: print the whole result as one JSON line, and "
                "stop when standard input closes")
      ->group("");
  load.add_flag("--interval-histograms", o.config.interval_histograms,
                "keep a histogram per second (as --hlog does), for --agent")
      ->group("");
  load.add_option("--start-at", o.config.start_at_ns,
                  "start at this wall-clock instant (ns since the epoch), with other agents")
      ->check(CLI::PositiveNumber);
}

// What is printed and written, and what is read of the server.
void add_output_flags(CLI::App& load, LoadFlags& o) {
  load.add_flag("--latency", o.outputs.latency_distribution, "print the latency distribution");
  load.add_flag("--json", o.outputs.json, "print one JSON object instead of the summary");
  load.add_option("--server-pid", o.outputs.server_pid,
                  "a `cmbench serve` on this machine: print where the time went inside it "
                  "(inbound, queued, service, outbound), from its own counters")
      ->check(CLI::PositiveNumber);
  load.add_option("--profile", o.outputs.profile,
                  "PREFIX: with --server-pid (any server), sample where its CPU goes over the "
                  "window (perf): CPU per request by kind, PREFIX.folded and PREFIX.flame.html");
  load.add_option("--timeline", o.outputs.timeline_path, "write per-second figures to this CSV");
  load.add_option("--hist", o.outputs.hist_path,
                  "write the latency distribution by percentile (mergeable) to this file");
  load.add_option("--hlog", o.outputs.hlog_path,
                  "write an HdrHistogram interval log (format 1.3), one interval per second "
                  "(tags corrected and uncorrected in an open loop)");
}

}  // namespace

std::shared_ptr<LoadFlags> add_load_flags(CLI::App& load) {
  auto o = std::make_shared<LoadFlags>();
  add_what_flags(load, *o);
  add_pace_flags(load, *o);
  add_connection_flags(load, *o);
  add_agent_flags(load, *o);
  add_output_flags(load, *o);
  return o;
}

namespace {

void check_engine(loadgen::IoEngine engine) {
  if (engine == loadgen::IoEngine::kIoUring)
    if (const std::string why = net::uring_unavailable_reason(); !why.empty())
      throw UsageError(fmt::format("--engine {} {}", loadgen::io_engine_name(engine), why));
}

}  // namespace

loadgen::LoadConfig load_config(const LoadFlags& flags) {
  if (!flags.agent_config.empty()) {
    loadgen::LoadConfig config = parse_agent_config(flags.agent_config);
    check_engine(config.engine);
    return config;
  }
  loadgen::LoadConfig config = flags.config;
  for (const auto& text : flags.urls) config.targets.push_back(loadgen::parse_target(text));
  config.duration = loadgen::parse_duration(flags.duration);
  if (config.max_requests > 0 && flags.duration_given->count() == 0)
    config.duration = std::chrono::hours(24);  // --requests alone: until they are done
  if (!flags.rate.empty()) {
    loadgen::RateProfile profile;
    try {
      // Steps without -d last all their steps.
      profile = loadgen::rate_profile(flags.rate, flags.step,
                                      flags.step.empty() || flags.duration_given->count() > 0
                                          ? config.duration
                                          : std::chrono::nanoseconds(0));
    } catch (const std::invalid_argument& e) {
      throw UsageError(e.what());
    }
    config.duration = profile.window;
    config.rate = profile.mean();
    if (profile.ramps()) config.ramp = profile;
  }
  config.warmup = loadgen::parse_duration(flags.warmup);
  config.timeout = loadgen::parse_duration(flags.timeout);
  config.think = loadgen::parse_duration(flags.think);
  config.max_spin = loadgen::parse_duration(flags.max_spin);
  config.arrival =
      flags.arrival == "poisson" ? loadgen::Arrival::kPoisson : loadgen::Arrival::kUniform;
  config.keep_alive = !flags.no_keepalive;
  if (!flags.segment.empty())
    std::tie(config.segment, config.segments) = parse_segment(flags.segment);
  config.interval_histograms |= !flags.outputs.hlog_path.empty();
  for (const auto& known : loadgen::kIoEngines)
    if (known.name == flags.engine) config.engine = known.engine;
  check_engine(config.engine);
  return config;
}

void add_load(CLI::App& app, const ExitCode& exit_code) {
  auto* load =
      app.add_subcommand("load", "drive a server with HTTP requests (wrk and wrk2's flags)");
  auto flags = add_load_flags(*load);
  // A URL, duration or engine that cannot be is a UsageError: main says so, exit 2.
  load->callback(
      [flags, exit_code] { *exit_code = load_command(load_config(*flags), flags->outputs); });
}

}  // namespace cmb::harness
