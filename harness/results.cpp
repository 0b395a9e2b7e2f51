#include "harness/results.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "harness/build_info.hpp"
#include "harness/csv.hpp"
#include "harness/files.hpp"
#include "harness/plan.hpp"
#include "harness/runner.hpp"
#include "harness/stats.hpp"
#include "servers/registry.hpp"

namespace cmb::harness {
namespace {

using Json = nlohmann::ordered_json;

// Figures rounded for people reading the file; NaN and infinity (an empty
// histogram's mean, a rate over no time) become null, never invalid JSON.
Json number(double value, int decimals) {
  if (!std::isfinite(value)) return nullptr;
  const double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

Json latency_json(const loadgen::LatencyHistogram& h) {
  const auto us = [](double nanos) { return number(nanos / 1000.0, 1); };
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

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

// The first line a binary's --version prints, or why there is none.
std::string version_of(const std::string& binary) {
  FILE* pipe = ::popen(fmt::format("'{}' --version 2>/dev/null", binary).c_str(), "r");
  if (pipe == nullptr) return "unknown";
  char text[256] = {};
  const bool got = std::fgets(text, sizeof text, pipe) != nullptr;
  ::pclose(pipe);
  std::string line = got ? text : "unknown (no --version)";
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return line;
}

int column_of(const CsvTable& table, const char* name) {
  const int index = table.column(name);
  if (index < 0)
    throw std::runtime_error(fmt::format("no '{}' column: not a cmbench results CSV", name));
  return index;
}

// One point of a sweep: its repetitions reduced as the knee rule says.
struct PointFigures {
  std::vector<double> p99;
  uint64_t errors = 0;
  uint64_t attempts = 0;
};

std::vector<ModelSummary> summarize_models(const std::vector<const ResultRow*>& rows,
                                           const std::vector<std::string>& models,
                                           double slo_p99_ms) {
  std::vector<ModelSummary> out;
  for (const auto& model : models) {
    ModelSummary summary{model, 0, 0, std::nullopt};
    const ResultRow* best = nullptr;
    std::map<PointKey, PointFigures> points;
    for (const ResultRow* row : rows) {
      if (row->model != model || !row->error.empty()) continue;
      if (best == nullptr || row->rps > best->rps) best = row;
      PointFigures& point = points[row->point()];
      point.p99.push_back(row->latency_p99_us);
      point.errors += row->errors();
      point.attempts += row->requests + row->errors();
    }
    if (best == nullptr) continue;
    summary.best_rps = best->rps;
    summary.p99_at_best_us = best->latency_p99_us;
    for (const auto& [id, figures] : points) {
      const double rate = std::get<4>(id);
      if (rate <= 0 || median(figures.p99) > slo_p99_ms * 1000 ||
          static_cast<double>(figures.errors) >
              kKneeErrorShare * static_cast<double>(figures.attempts))
        continue;
      summary.knee_rate = std::max(summary.knee_rate.value_or(rate), rate);
    }
    out.push_back(summary);
  }
  return out;
}

Json summary_json(const std::vector<ModelSummary>& models, bool rate_sweep) {
  Json json = Json::object();
  for (const auto& m : models) {
    json[m.model] = {{"best_rps", number(m.best_rps, 2)},
                     {"p99_at_best_us", number(m.p99_at_best_us, 1)},
                     {"knee_rate", m.knee_rate && rate_sweep ? Json(*m.knee_rate) : Json()}};
  }
  return json;
}

}  // namespace

std::string PointId::key() const {
  // Without idle connections, the key older CSVs were resumed by.
  return fmt::format("{}|{}|{}|{}|{:g}|{}{}", model, server_threads, workload, connections, rate,
                     repetition, idle_connections > 0 ? fmt::format("|i{}", idle_connections) : "");
}

PointReader::PointReader(const CsvTable& table)
    : model_(column_of(table, "model")),
      threads_(table.column("server_threads")),
      workload_(column_of(table, "workload")),
      connections_(column_of(table, "connections")),
      rate_(column_of(table, "rate")),
      repetition_(table.column("repetition")),
      idle_(table.column("idle_connections")) {}

PointId PointReader::read(const std::vector<std::string>& row) const {
  const auto at = [&](int index) -> const std::string& {
    if (static_cast<size_t>(index) >= row.size())
      throw std::runtime_error("a row is shorter than the header");
    return row[static_cast<size_t>(index)];
  };
  const auto optional = [&](int index, int absent) {
    return index < 0 ? absent : std::stoi(at(index));
  };
  try {
    return {at(model_),           optional(threads_, 0),
            at(workload_),        std::stoi(at(connections_)),
            std::stod(at(rate_)), optional(repetition_, 1),
            optional(idle_, 0)};
  } catch (const std::logic_error&) {  // std::invalid_argument, std::out_of_range
    throw std::runtime_error("a row's identity has a number that does not parse");
  }
}

SweepSummary summarize(const std::vector<ResultRow>& rows, const std::vector<std::string>& models,
                       double slo_p99_ms) {
  SweepSummary summary;
  summary.slo_p99_ms = slo_p99_ms;
  std::vector<const ResultRow*> all;
  std::vector<std::string> workloads;
  for (const auto& row : rows) {
    all.push_back(&row);
    summary.rate_sweep |= row.rate > 0;
    if (std::find(workloads.begin(), workloads.end(), row.workload) == workloads.end())
      workloads.push_back(row.workload);
  }
  summary.models = summarize_models(all, models, slo_p99_ms);
  for (const auto& workload : workloads) {
    std::vector<const ResultRow*> part;
    for (const ResultRow* row : all)
      if (row->workload == workload) part.push_back(row);
    summary.workloads.emplace_back(workload, summarize_models(part, models, slo_p99_ms));
  }
  return summary;
}

void write_manifest(const SweepConfig& config, const std::string& started,
                    const std::string& finished, const SweepSummary* summary,
                    const std::vector<Verdict>& verdicts) {
  Json models = Json::array();
  for (const auto& model : config.models) {
    const ModelSpec spec = parse_model_spec(model, 0);
    const auto info = servers::find_model(spec.name);
    const ExternalModel* external = find_external(model, config);
    models.push_back({{"name", model},
                      {"summary", external ? "external: " + external->command
                                  : info   ? std::string(info->summary) +
                                               (spec.uring.empty() ? "" : "; ring: " + spec.uring)
                                         : ""},
                      // A ring set up otherwise is a line of its own colour.
                      {"colour", info && !external && spec.uring.empty() ? info->colour : ""}});
  }
  const BuildInfo build = build_info();
  Json libraries = Json::object();
  for (const auto& [library, version] : build.libraries) libraries[library] = version;
  Json json = {{"scenario", config.scenario},
               {"question", config.question},
               {"expect", config.expect},
               {"command", config.command_line},
               {"cmbench_version", build.version},
               {"git_commit", build.commit},
               {"compiler", build.compiler},
               {"libraries", libraries},
               {"started", started},
               {"finished", finished},
               {"kernel", build.kernel},
               {"cpu_model", cpu_model()},
               {"cores", std::thread::hardware_concurrency()},
               {"server_cpus", config.server_cpus},
               {"load_cpus", config.load_cpus},
               {"somaxconn", read_first_line("/proc/sys/net/core/somaxconn")},
               {"tcp_tw_reuse", read_first_line("/proc/sys/net/ipv4/tcp_tw_reuse")},
               {"ip_local_port_range", read_first_line("/proc/sys/net/ipv4/ip_local_port_range")},
               {"io_uring_unavailable", build.io_uring_unavailable},
               {"io_uring_features", build.io_uring_features},
               {"models", models}};
  if (!config.host_infos.empty()) {
    const auto host_json = [](const HostInfo& info) {
      return Json{{"spec", info.spec},
                  {"cmbench_version", info.cmbench_version},
                  {"kernel", info.kernel},
                  {"cpus", info.cpus},
                  {"clock_offset_ms", number(info.clock_offset_ms, 3)},
                  {"clock_round_trip_ms", number(info.clock_round_trip_ms, 3)}};
    };
    Json load = Json::array();
    for (size_t i = 1; i < config.host_infos.size(); ++i)
      load.push_back(host_json(config.host_infos[i]));
    json["hosts"] = {{"server", host_json(config.host_infos.front())},
                     {"server_address", config.host},
                     {"load", load}};
  }
  if (!config.builds.empty()) {
    Json builds = Json::array();
    for (const auto& other : config.builds)
      builds.push_back(
          {{"label", other.label}, {"binary", other.path}, {"version", version_of(other.path)}});
    json["builds"] = builds;
  }
  if (summary != nullptr) {
    Json workloads = Json::object();
    for (const auto& [workload, part] : summary->workloads)
      workloads[workload] = summary_json(part, summary->rate_sweep);
    json["summary"] = {{"slo_p99_ms", summary->slo_p99_ms},
                       {"rate_sweep", summary->rate_sweep},
                       {"models", summary_json(summary->models, summary->rate_sweep)},
                       {"workloads", workloads}};
  }
  if (!config.claims.empty()) {
    Json expectations = Json::array();
    for (const auto& verdict : verdicts)
      expectations.push_back({{"claim", verdict.claim},
                              {"held", verdict.held ? Json(*verdict.held) : Json()},
                              {"measured", verdict.measured}});
    json["claims"] = config.claims;
    if (summary != nullptr) json["expectations"] = expectations;
  }
  const std::filesystem::path path = std::filesystem::path(config.out).replace_extension(".json");
  write_file_atomically(path.string(),
                        json.dump(2, ' ', false, Json::error_handler_t::replace) + "\n");
}

std::string load_json(const loadgen::LoadConfig& config, const loadgen::LoadResult& result) {
  const loadgen::ErrorCounts& e = result.errors;
  Json json = {{"url", config.targets.front().url.to_string()},
               {"connections", config.connections},
               {"threads", std::min(config.threads, config.connections)},
               {"keep_alive", config.keep_alive},
               {"pipeline", config.pipeline},
               {"requests", result.requests},
               {"sent", result.sent},
               {"in_flight_at_open", result.in_flight_at_open},
               {"abandoned", result.abandoned},
               {"duration_s", number(result.duration_s, 3)},
               {"rps", number(result.rps(), 2)},
               {"bytes_read", result.bytes_read},
               {"errors",
                {{"connect", e.connect},
                 {"read", e.read},
                 {"write", e.write},
                 {"timeout", e.timeout},
                 {"status", e.status}}},
               {"latency_us", latency_json(result.latency)}};
  if (config.rate > 0) {
    json["rate"] = {
        {"target", config.rate},
        {"achieved", number(result.rps(), 2)},
        {"arrival", config.arrival == loadgen::Arrival::kPoisson ? "poisson" : "uniform"}};
    json["uncorrected_latency_us"] = latency_json(result.uncorrected_latency);
    json["schedule_lag_us"] = latency_json(result.schedule_lag);
  }
  if (!config.keep_alive) json["connect_latency_us"] = latency_json(result.connect_latency);
  json["window_start_epoch_s"] = number(result.window_start_epoch_s, 6);
  if (config.segments > 1) {
    const auto share = [&config](uint64_t total) {
      return loadgen::segment_share(total, config.segment, config.segments).count;
    };
    json["segment"] = {{"k", config.segment + 1},
                       {"n", config.segments},
                       {"connections", share(static_cast<uint64_t>(config.connections))},
                       {"idle_connections", share(static_cast<uint64_t>(config.idle_connections))},
                       {"requests_budget", share(config.max_requests)}};
  }
  if (config.idle_connections > 0)
    json["idle_connections"] = {{"asked", config.idle_connections},
                                {"open", result.idle_open},
                                {"failed", result.idle_failed},
                                {"closed_by_server", result.idle_closed},
                                {"first_error", result.idle_error}};
  json["error_details"] = Json::object();
  for (const auto& [what, count] : result.error_details) json["error_details"][what] = count;
  if (config.targets.size() > 1) {
    Json targets = Json::array();
    for (size_t i = 0; i < config.targets.size(); ++i)
      targets.push_back({{"url", config.targets[i].url.to_string()},
                         {"weight", config.targets[i].weight},
                         {"requests", result.targets[i].requests},
                         {"latency_us", latency_json(result.targets[i].latency)}});
    json["targets"] = targets;
  }
  json["loadgen_cpu_s"] = {{"user", number(result.cpu_user_s, 3)},
                           {"system", number(result.cpu_system_s, 3)}};
  json["loadgen_max_thread_busy"] = number(result.max_thread_busy(), 3);
  // Invalid UTF-8 (an error text from the system, a URL) is replaced, not thrown on.
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace cmb::harness
