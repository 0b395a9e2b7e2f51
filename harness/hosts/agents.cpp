#include "harness/hosts/agents.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "harness/base/subprocess.hpp"
#include "loadgen/units.hpp"
#include "net/fd.hpp"

namespace cmb::harness {
namespace {

using Json = nlohmann::json;

template <typename Histogram>
Json histogram_json(const Histogram& histogram) {
  Json buckets = Json::array();
  for (size_t i = 0; i < Histogram::kBuckets; ++i)
    if (const uint64_t n = histogram.bucket_count(i); n > 0) buckets.push_back({i, n});
  return {{"sum", histogram.sum()},
          {"min", histogram.min()},
          {"max", histogram.max()},
          {"buckets", buckets}};
}

template <typename Histogram>
Histogram histogram_from(const Json& json) {
  std::vector<std::pair<size_t, uint64_t>> buckets;
  for (const auto& bucket : json.at("buckets")) {
    const auto index = bucket.at(0).get<size_t>();
    if (index >= Histogram::kBuckets) throw std::runtime_error("a bucket index out of range");
    buckets.emplace_back(index, bucket.at(1).get<uint64_t>());
  }
  return Histogram::restore(buckets, json.at("sum").get<uint64_t>(), json.at("min").get<uint64_t>(),
                            json.at("max").get<uint64_t>());
}

std::string duration_text(std::chrono::nanoseconds d) { return loadgen::format_duration(d); }

}  // namespace

std::string agent_result_json(const loadgen::LoadResult& r) {
  Json errors = Json::object();
  for (const auto& cause : loadgen::kErrorCauses) errors[cause.name] = r.errors.*cause.count;
  Json json = {{"requests", r.requests},
               {"sent", r.sent},
               {"abandoned", r.abandoned},
               {"unfinished", r.unfinished},
               {"timed_out", r.timed_out},
               {"connections_unanswered", r.connections_unanswered},
               {"unanswered_ns", r.unanswered_ns},
               {"in_flight_at_open", r.in_flight_at_open},
               {"answered_ns", r.answered_ns},
               {"duration_s", r.duration_s},
               {"bytes_read", r.bytes_read},
               {"errors", errors},
               {"error_details", r.error_details},
               {"latency", histogram_json(r.latency)},
               {"uncorrected_latency", histogram_json(r.uncorrected_latency)},
               {"schedule_lag", histogram_json(r.schedule_lag)},
               {"connect_latency", histogram_json(r.connect_latency)},
               {"window_start_epoch_s", r.window_start_epoch_s},
               {"cpu_user_s", r.cpu_user_s},
               {"cpu_system_s", r.cpu_system_s},
               {"idle", {r.idle_open, r.idle_failed, r.idle_closed, r.idle_error}}};
  Json targets = Json::array();
  for (const auto& target : r.targets)
    targets.push_back({{"requests", target.requests}, {"latency", histogram_json(target.latency)}});
  json["targets"] = targets;
  Json timeline = Json::array();
  for (const auto& second : r.timeline)
    timeline.push_back({{"requests", second.requests},
                        {"errors", second.errors},
                        {"latency", histogram_json(second.latency)}});
  json["timeline"] = timeline;
  json["slices"] = r.slices;
  Json intervals = Json::array();
  for (const auto& interval : r.intervals)
    intervals.push_back({{"latency", histogram_json(interval.latency)},
                         {"uncorrected", histogram_json(interval.uncorrected)}});
  json["intervals"] = intervals;
  Json threads = Json::array();
  for (const auto& thread : r.threads) threads.push_back({thread.cpu_s, thread.wall_s});
  json["threads"] = threads;
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

loadgen::LoadResult parse_agent_result(std::string_view line) {
  using loadgen::CoarseLatencyHistogram;
  using loadgen::LatencyHistogram;
  try {
    const Json json = Json::parse(line);
    loadgen::LoadResult r;
    r.requests = json.at("requests").get<uint64_t>();
    r.sent = json.at("sent").get<uint64_t>();
    r.abandoned = json.at("abandoned").get<uint64_t>();
    r.unfinished = json.at("unfinished").get<uint64_t>();
    r.timed_out = json.at("timed_out").get<uint64_t>();
    r.connections_unanswered = json.at("connections_unanswered").get<uint64_t>();
    r.unanswered_ns = json.at("unanswered_ns").get<uint64_t>();
    r.in_flight_at_open = json.at("in_flight_at_open").get<uint64_t>();
    r.answered_ns = json.at("answered_ns").get<uint64_t>();
    r.duration_s = json.at("duration_s").get<double>();
    r.bytes_read = json.at("bytes_read").get<uint64_t>();
    for (const auto& cause : loadgen::kErrorCauses)
      r.errors.*cause.count = json.at("errors").at(std::string(cause.name)).get<uint64_t>();
    r.error_details = json.at("error_details").get<std::map<std::string, uint64_t>>();
    r.latency = histogram_from<LatencyHistogram>(json.at("latency"));
    r.uncorrected_latency = histogram_from<LatencyHistogram>(json.at("uncorrected_latency"));
    r.schedule_lag = histogram_from<LatencyHistogram>(json.at("schedule_lag"));
    r.connect_latency = histogram_from<LatencyHistogram>(json.at("connect_latency"));
    r.window_start_epoch_s = json.at("window_start_epoch_s").get<double>();
    r.cpu_user_s = json.at("cpu_user_s").get<double>();
    r.cpu_system_s = json.at("cpu_system_s").get<double>();
    const auto& idle = json.at("idle");
    r.idle_open = idle.at(0).get<uint64_t>();
    r.idle_failed = idle.at(1).get<uint64_t>();
    r.idle_closed = idle.at(2).get<uint64_t>();
    r.idle_error = idle.at(3).get<std::string>();
    for (const auto& target : json.at("targets"))
      r.targets.push_back({target.at("requests").get<uint64_t>(),
                           histogram_from<LatencyHistogram>(target.at("latency"))});
    for (const auto& second : json.at("timeline"))
      r.timeline.push_back({second.at("requests").get<uint64_t>(),
                            second.at("errors").get<uint64_t>(),
                            histogram_from<CoarseLatencyHistogram>(second.at("latency"))});
    r.slices = json.at("slices").get<std::vector<uint64_t>>();
    for (const auto& interval : json.at("intervals"))
      r.intervals.push_back({histogram_from<LatencyHistogram>(interval.at("latency")),
                             histogram_from<LatencyHistogram>(interval.at("uncorrected"))});
    for (const auto& thread : json.at("threads"))
      r.threads.push_back({thread.at(0).get<double>(), thread.at(1).get<double>()});
    return r;
  } catch (const Json::exception& e) {
    throw std::runtime_error(fmt::format("not an agent's result: {}", e.what()));
  }
}

std::vector<std::string> agent_arguments(const loadgen::LoadConfig& load, int segment,
                                         int segments) {
  std::vector<std::string> args;
  for (const auto& target : load.targets)
    args.push_back(load.targets.size() > 1
                       ? fmt::format("{}@{}", target.url.to_string(), target.weight)
                       : target.url.to_string());
  args.insert(args.end(), {"-c", std::to_string(load.connections), "-t",
                           std::to_string(load.threads), "--timeout", duration_text(load.timeout),
                           "--pipeline", std::to_string(load.pipeline), "--engine",
                           std::string(loadgen::io_engine_name(load.engine)), "--segment",
                           fmt::format("{}/{}", segment + 1, segments), "--agent"});
  if (load.max_requests > 0) {
    args.insert(args.end(), {"--requests", std::to_string(load.max_requests)});
  } else {
    args.insert(args.end(),
                {"-d", duration_text(load.duration), "--warmup", duration_text(load.warmup)});
  }
  if (load.rate > 0) {
    const std::string rate =
        load.ramp.ramps() ? load.ramp.rates_text() : fmt::format("{}", load.rate);
    if (load.ramp.ramps() && !load.ramp.linear)
      args.insert(args.end(), {"--step", duration_text(load.ramp.step)});
    args.insert(args.end(), {"-R", rate, "--arrival",
                             load.arrival == loadgen::Arrival::kPoisson ? "poisson" : "uniform",
                             "--max-spin", duration_text(load.max_spin)});
  }
  if (load.think.count() > 0) args.insert(args.end(), {"--think", duration_text(load.think)});
  if (!load.keep_alive) args.push_back("--no-keepalive");
  if (load.busy_poll) args.push_back("--busy-poll");
  if (load.idle_connections > 0)
    args.insert(args.end(), {"--idle-connections", std::to_string(load.idle_connections)});
  if (!load.cpus.empty()) {
    std::string cpus;
    for (int cpu : load.cpus) cpus += (cpus.empty() ? "" : ",") + std::to_string(cpu);
    args.insert(args.end(), {"--cpus", cpus});
  }
  if (load.interval_histograms) args.push_back("--interval-histograms");
  return args;
}

std::string load_hosts_text(const std::vector<HostSpec>& hosts) {
  std::string text;
  for (const auto& host : hosts) text += (text.empty() ? "" : ",") + host.text();
  return text;
}

std::string agents_summary_json(const std::vector<HostSpec>& hosts,
                                const std::vector<loadgen::LoadResult>& each) {
  Json agents = Json::array();
  for (size_t k = 0; k < hosts.size() && k < each.size(); ++k) {
    const loadgen::LoadResult& r = each[k];
    const auto us = [](uint64_t nanos) { return static_cast<double>(nanos) / 1000.0; };
    agents.push_back({{"host", hosts[k].text()},
                      {"requests", r.requests},
                      {"rps", r.rps()},
                      {"latency_p50_us", us(r.latency.percentile(50))},
                      {"latency_p99_us", us(r.latency.percentile(99))},
                      {"errors", r.errors.total()},
                      {"loadgen_cpu_s", r.cpu_user_s + r.cpu_system_s},
                      {"loadgen_max_thread_busy", r.max_thread_busy()},
                      {"window_start_epoch_s", r.window_start_epoch_s}});
  }
  return Json{{"agents", agents}}.dump(2) + "\n";
}

namespace {

using Steady = std::chrono::steady_clock;

bool over_ssh(const std::vector<HostSpec>& hosts) {
  return std::any_of(hosts.begin(), hosts.end(),
                     [](const HostSpec& host) { return host.kind == HostSpec::Kind::kSsh; });
}

// The last line of `text` without its newlines.
std::string_view last_line(std::string_view text) {
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  const size_t cut = text.rfind('\n');
  return cut == std::string_view::npos ? text : text.substr(cut + 1);
}

// One point's agents through the protocol's phases: started, each ready,
// sent one start instant, held at the window's edge until all are there,
// then each one's result read and merged.
class AgentGroup {
 public:
  AgentGroup(const loadgen::LoadConfig& load, const std::vector<HostSpec>& hosts,
             const std::atomic<bool>* cancel)
      : load_(load),
        hosts_(hosts),
        cancel_(cancel),
        over_ssh_(over_ssh(hosts)),
        agents_(hosts.size()) {}

  void start();
  bool wait_ready();
  Steady::time_point send_start(const std::vector<double>& clock_offsets_ms);
  void stop_all() {
    for (auto& agent : agents_) agent.stdin_write.reset();  // each ends at once
  }
  bool run_window(Steady::time_point give_up);
  AgentsResult collect(bool late);

 private:
  struct Agent {
    pid_t pid = -1;
    net::Fd stdin_write;  // the start instant goes here; closing it stops the agent
    std::string out, err;
    bool ready() const { return out.starts_with("ready\n"); }
    bool at_edge() const { return out.find("\nedge\n") != std::string::npos; }
  };
  bool cancelled() const { return cancel_ != nullptr && cancel_->load(); }
  bool all_ready() const {
    return std::all_of(agents_.begin(), agents_.end(), [](const Agent& a) { return a.ready(); });
  }
  loadgen::LoadResult result_of(Agent& agent, bool late);

  const loadgen::LoadConfig& load_;
  const std::vector<HostSpec>& hosts_;
  const std::atomic<bool>* cancel_;
  const bool over_ssh_;
  std::vector<Agent> agents_;
  OutputCollector collector_;
};

void AgentGroup::start() {
  const int n = static_cast<int>(hosts_.size());
  for (int k = 0; k < n; ++k) {
    std::vector<std::string> command = {cmbench_on(hosts_[k]), "load"};
    loadgen::LoadConfig mine = load_;
    // This machine's CPU numbers mean nothing on another.
    if (hosts_[k].kind == HostSpec::Kind::kSsh) mine.cpus.clear();
    const auto args = agent_arguments(mine, k, n);
    command.insert(command.end(), args.begin(), args.end());
    int in[2];
    if (::pipe2(in, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    net::Fd in_read(in[0]);
    Agent& agent = agents_[static_cast<size_t>(k)];
    agent.stdin_write.reset(in[1]);
    agent.pid =
        collector_.start(command_on(hosts_[k], command), in_read.get(), &agent.out, &agent.err);
  }
}

// Every agent connects (and opens its idle connections), says "ready",
// and waits for the start instant: however long each took to start (an
// ssh login on a loaded machine can take seconds), they start together.
bool AgentGroup::wait_ready() {
  const auto set_up_by = Steady::now() + load_.idle_connect_timeout * 2 + std::chrono::seconds(30);
  while (!all_ready() && collector_.open() == 2 * agents_.size() && Steady::now() < set_up_by &&
         !cancelled())
    collector_.pump(std::min(set_up_by, Steady::now() + std::chrono::milliseconds(100)));
  return all_ready();
}

// One instant, each agent told it on its own clock; returns it on the
// steady clock, which the window is timed by.
Steady::time_point AgentGroup::send_start(const std::vector<double>& clock_offsets_ms) {
  // A start line takes one write through a session that is already up.
  const std::chrono::milliseconds lead =
      over_ssh_ ? std::chrono::milliseconds(1000) : std::chrono::milliseconds(100);
  const auto start_at = std::chrono::system_clock::now() + lead;
  const auto steady_start = Steady::now() + lead;
  const int64_t start_at_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(start_at.time_since_epoch()).count();
  for (size_t k = 0; k < agents_.size(); ++k) {
    const double offset_ms = k < clock_offsets_ms.size() ? clock_offsets_ms[k] : 0.0;
    const std::string line =
        fmt::format("{}\n", start_at_ns + static_cast<int64_t>(offset_ms * 1e6));
    [[maybe_unused]] const auto written =
        ::write(agents_[k].stdin_write.get(), line.data(), line.size());
  }
  return steady_start;
}

// Each agent says "edge" when its window opens and waits, its load threads
// paused; once every live agent is there, the server's counters are read
// (on_window_open) and each is told "go". The server's count and the
// agents' then differ only by the requests in flight at the edges. Returns
// whether the window opened.
bool AgentGroup::run_window(Steady::time_point give_up) {
  bool window_open = false;
  bool stopped = false;
  while (collector_.open() > 0 && Steady::now() < give_up) {
    if (!window_open && std::all_of(agents_.begin(), agents_.end(), [&](const Agent& a) {
          return a.at_edge() || collector_.finished(&a.out);  // there, or gone
        })) {
      if (load_.on_window_open) load_.on_window_open();
      for (auto& agent : agents_)
        if (agent.stdin_write) [[maybe_unused]]
          const auto written = ::write(agent.stdin_write.get(), "go\n", 3);
      window_open = true;
    }
    if (!stopped && cancelled()) {
      stopped = true;
      stop_all();
    }
    collector_.pump(Steady::now() + std::chrono::milliseconds(100));  // returns as lines come
  }
  return window_open;
}

// Its last line is the result ("ready" came first). `late`: the group's
// time is up, so an agent still running is not waited for.
loadgen::LoadResult AgentGroup::result_of(Agent& agent, bool late) {
  agent.stdin_write.reset();
  if (agent.pid < 0) throw std::runtime_error("could not be started");
  const int status =
      wait_child(agent.pid, late ? std::chrono::seconds(0) : std::chrono::seconds(5));
  if (status != 0)
    throw std::runtime_error(status < 0 ? "ended by a signal, or not in time"
                                        : fmt::format("exit {}", status));
  return parse_agent_result(last_line(agent.out));
}

// Merged as one generator's threads merge: the longest window, opened at
// the earliest agent's start. The first agent that failed is the error.
AgentsResult AgentGroup::collect(bool late) {
  AgentsResult result;
  for (size_t k = 0; k < agents_.size(); ++k) {
    loadgen::LoadResult one;
    try {
      one = result_of(agents_[k], late);
    } catch (const std::exception& e) {
      const std::string said(last_line(agents_[k].err));
      if (result.error.empty())
        result.error = fmt::format("load host {}: {}{}{}", hosts_[k].text(), e.what(),
                                   said.empty() ? "" : ": ", said);
      result.each.emplace_back();
      continue;
    }
    const double duration = std::max(result.merged.duration_s, one.duration_s);
    const double opened =
        result.each.empty() || result.merged.window_start_epoch_s == 0
            ? one.window_start_epoch_s
            : std::min(result.merged.window_start_epoch_s, one.window_start_epoch_s);
    result.merged += one;
    result.merged.duration_s = duration;
    result.merged.window_start_epoch_s = opened;
    result.each.push_back(std::move(one));
  }
  return result;
}

}  // namespace

AgentsResult run_agents(const loadgen::LoadConfig& load, const std::vector<HostSpec>& hosts,
                        const std::vector<double>& clock_offsets_ms,
                        const std::atomic<bool>* cancel) {
  AgentGroup group(load, hosts, cancel);
  group.start();
  Steady::time_point start = Steady::now();
  if (group.wait_ready())
    start = group.send_start(clock_offsets_ms);
  else
    group.stop_all();  // no start
  const auto give_up = start + load.warmup + load.duration + load.timeout +
                       std::chrono::seconds(over_ssh(hosts) ? 40 : 30);
  const bool window_opened = group.run_window(give_up);
  AgentsResult result = group.collect(Steady::now() >= give_up);
  if (!window_opened && load.on_window_open) load.on_window_open();  // its figures exist anyway
  return result;
}

}  // namespace cmb::harness
