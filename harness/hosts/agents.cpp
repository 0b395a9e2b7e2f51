#include "harness/hosts/agents.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <variant>

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

using loadgen::CoarseLatencyHistogram;
using loadgen::LatencyHistogram;

// A field of S by its name on the agent's line. Each record's fields are one
// table, which both writes the line and reads it back.
template <typename S>
struct Field {
  const char* name;
  std::variant<int S::*, uint64_t S::*, double S::*, bool S::*, std::string S::*,
               std::chrono::nanoseconds S::*, std::vector<int> S::*, std::vector<uint64_t> S::*,
               std::vector<double> S::*, std::map<std::string, uint64_t> S::*,
               loadgen::Arrival S::*, loadgen::IoEngine S::*, LatencyHistogram S::*,
               CoarseLatencyHistogram S::*>
      member;
};

template <typename T>
constexpr bool kHistogram =
    std::is_same_v<T, LatencyHistogram> || std::is_same_v<T, CoarseLatencyHistogram>;

template <typename T>
Json to_wire(const T& value) {
  if constexpr (kHistogram<T>)
    return histogram_json(value);
  else if constexpr (std::is_same_v<T, std::chrono::nanoseconds>)
    return value.count();
  else if constexpr (std::is_enum_v<T>)
    return static_cast<int>(value);
  else
    return value;
}

template <typename T>
void from_wire(const Json& json, T& value) {
  if constexpr (kHistogram<T>)
    value = histogram_from<T>(json);
  else if constexpr (std::is_same_v<T, std::chrono::nanoseconds>)
    value = std::chrono::nanoseconds(json.get<int64_t>());
  else if constexpr (std::is_enum_v<T>)
    value = static_cast<T>(json.get<int>());
  else
    value = json.get<T>();
}

template <typename S, size_t N>
Json write_fields(const S& record, const Field<S> (&fields)[N]) {
  Json json = Json::object();
  for (const Field<S>& field : fields)
    std::visit([&](auto member) { json[field.name] = to_wire(record.*member); }, field.member);
  return json;
}

template <typename S, size_t N>
void read_fields(const Json& json, S& record, const Field<S> (&fields)[N]) {
  for (const Field<S>& field : fields)
    std::visit([&](auto member) { from_wire(json.at(field.name), record.*member); }, field.member);
}

template <typename S, size_t N>
Json write_list(const std::vector<S>& records, const Field<S> (&fields)[N]) {
  Json list = Json::array();
  for (const S& record : records) list.push_back(write_fields(record, fields));
  return list;
}

template <typename S, size_t N>
std::vector<S> read_list(const Json& list, const Field<S> (&fields)[N]) {
  std::vector<S> records(list.size());
  for (size_t i = 0; i < records.size(); ++i) read_fields(list.at(i), records[i], fields);
  return records;
}

using loadgen::LoadResult;
const Field<LoadResult> kResultFields[] = {
    {"requests", &LoadResult::requests},
    {"sent", &LoadResult::sent},
    {"abandoned", &LoadResult::abandoned},
    {"unfinished", &LoadResult::unfinished},
    {"timed_out", &LoadResult::timed_out},
    {"connections_unanswered", &LoadResult::connections_unanswered},
    {"unanswered_ns", &LoadResult::unanswered_ns},
    {"in_flight_at_open", &LoadResult::in_flight_at_open},
    {"answered_ns", &LoadResult::answered_ns},
    {"duration_s", &LoadResult::duration_s},
    {"bytes_read", &LoadResult::bytes_read},
    {"error_details", &LoadResult::error_details},
    {"latency", &LoadResult::latency},
    {"uncorrected_latency", &LoadResult::uncorrected_latency},
    {"schedule_lag", &LoadResult::schedule_lag},
    {"connect_latency", &LoadResult::connect_latency},
    {"slices", &LoadResult::slices},
    {"window_start_epoch_s", &LoadResult::window_start_epoch_s},
    {"cpu_user_s", &LoadResult::cpu_user_s},
    {"cpu_system_s", &LoadResult::cpu_system_s},
    {"idle_open", &LoadResult::idle_open},
    {"idle_failed", &LoadResult::idle_failed},
    {"idle_closed", &LoadResult::idle_closed},
    {"idle_error", &LoadResult::idle_error},
};
const Field<loadgen::TargetResult> kTargetFields[] = {
    {"requests", &loadgen::TargetResult::requests}, {"latency", &loadgen::TargetResult::latency}};
const Field<loadgen::TimelineSecond> kSecondFields[] = {
    {"requests", &loadgen::TimelineSecond::requests},
    {"errors", &loadgen::TimelineSecond::errors},
    {"latency", &loadgen::TimelineSecond::latency}};
const Field<loadgen::IntervalLatency> kIntervalFields[] = {
    {"latency", &loadgen::IntervalLatency::latency},
    {"uncorrected", &loadgen::IntervalLatency::uncorrected}};
// What an agent is asked: every LoadConfig field but its hooks (the agent's
// own) and its start (sent on stdin once every agent is ready).
using loadgen::LoadConfig;
const Field<LoadConfig> kConfigFields[] = {
    {"connections", &LoadConfig::connections},
    {"threads", &LoadConfig::threads},
    {"duration_ns", &LoadConfig::duration},
    {"warmup_ns", &LoadConfig::warmup},
    {"timeout_ns", &LoadConfig::timeout},
    {"keep_alive", &LoadConfig::keep_alive},
    {"rate", &LoadConfig::rate},
    {"arrival", &LoadConfig::arrival},
    {"think_ns", &LoadConfig::think},
    {"pipeline", &LoadConfig::pipeline},
    {"max_requests", &LoadConfig::max_requests},
    {"cpus", &LoadConfig::cpus},
    {"max_spin_ns", &LoadConfig::max_spin},
    {"busy_poll", &LoadConfig::busy_poll},
    {"engine", &LoadConfig::engine},
    {"interval_histograms", &LoadConfig::interval_histograms},
    {"idle_connections", &LoadConfig::idle_connections},
    {"segment", &LoadConfig::segment},
    {"segments", &LoadConfig::segments},
};
const Field<loadgen::RateProfile> kRampFields[] = {{"rates", &loadgen::RateProfile::rates},
                                                   {"linear", &loadgen::RateProfile::linear},
                                                   {"step_ns", &loadgen::RateProfile::step},
                                                   {"window_ns", &loadgen::RateProfile::window}};

const Field<loadgen::ThreadUsage> kThreadFields[] = {{"cpu_s", &loadgen::ThreadUsage::cpu_s},
                                                     {"wall_s", &loadgen::ThreadUsage::wall_s}};

}  // namespace

std::string agent_config_json(const loadgen::LoadConfig& load) {
  Json json = write_fields(load, kConfigFields);
  json["ramp"] = write_fields(load.ramp, kRampFields);
  json["targets"] = Json::array();
  for (const auto& target : load.targets)
    json["targets"].push_back({{"url", target.url.to_string()}, {"weight", target.weight}});
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

loadgen::LoadConfig parse_agent_config(std::string_view text) {
  try {
    const Json json = Json::parse(text);
    loadgen::LoadConfig load;
    read_fields(json, load, kConfigFields);
    read_fields(json.at("ramp"), load.ramp, kRampFields);
    for (const auto& target : json.at("targets"))
      load.targets.push_back({loadgen::parse_url(target.at("url").get<std::string>()),
                              target.at("weight").get<unsigned>()});
    return load;
  } catch (const Json::exception& e) {
    throw std::invalid_argument(fmt::format("not an agent's load: {}", e.what()));
  }
}

std::string agent_result_json(const loadgen::LoadResult& r) {
  Json json = write_fields(r, kResultFields);
  for (const auto& cause : loadgen::kErrorCauses)
    json["errors"][cause.name] = r.errors.*cause.count;
  json["targets"] = write_list(r.targets, kTargetFields);
  json["timeline"] = write_list(r.timeline, kSecondFields);
  json["intervals"] = write_list(r.intervals, kIntervalFields);
  json["threads"] = write_list(r.threads, kThreadFields);
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

loadgen::LoadResult parse_agent_result(std::string_view line) {
  try {
    const Json json = Json::parse(line);
    loadgen::LoadResult r;
    read_fields(json, r, kResultFields);
    for (const auto& cause : loadgen::kErrorCauses)
      r.errors.*cause.count = json.at("errors").at(std::string(cause.name)).get<uint64_t>();
    r.targets = read_list(json.at("targets"), kTargetFields);
    r.timeline = read_list(json.at("timeline"), kSecondFields);
    r.intervals = read_list(json.at("intervals"), kIntervalFields);
    r.threads = read_list(json.at("threads"), kThreadFields);
    return r;
  } catch (const Json::exception& e) {
    throw std::runtime_error(fmt::format("not an agent's result: {}", e.what()));
  }
}

std::vector<std::string> agent_arguments(const loadgen::LoadConfig& load, int segment,
                                         int segments) {
  loadgen::LoadConfig mine = load;
  mine.segment = segment;
  mine.segments = segments;
  // The URL for whoever reads the process list; the load is the JSON's.
  return {load.targets.front().url.to_string(), "--agent", "--agent-config",
          agent_config_json(mine)};
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
