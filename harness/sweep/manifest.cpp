#include "harness/sweep/manifest.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "harness/base/build_info.hpp"
#include "harness/base/files.hpp"
#include "harness/base/json.hpp"
#include "harness/base/subprocess.hpp"

namespace cmb::harness {
namespace {

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
  const CommandResult said = run_command({binary, "--version"}, std::chrono::seconds(30));
  if (said.exit_code == kCannotRun) return "unknown";
  const std::string line = said.out.substr(0, said.out.find('\n'));
  return line.empty() ? "unknown (no --version)" : line;
}

Json summary_json(const std::vector<ModelSummary>& models, bool rate_sweep) {
  Json json = Json::object();
  for (const auto& m : models) {
    json[m.model] = {{"best_rps", json_number(m.best_rps, 2)},
                     {"p99_at_best_us", json_number(m.p99_at_best_us, 1)},
                     {"knee_rate", m.knee_rate && rate_sweep ? Json(*m.knee_rate) : Json()}};
  }
  return json;
}

Json models_json(const SweepConfig& config, const SweepOutcome* outcome) {
  Json models = Json::array();
  for (const auto& model : config.resolved) {
    Json entry = {{"name", model.text},
                  {"summary", model.summary},
                  {"colour", model.colour},
                  {"marker", model.marker}};
    if (outcome)
      if (const auto found = outcome->checks.find(model.text); found != outcome->checks.end())
        entry["verify"] = {{"checked", found->second.checked},
                           {"measurement_failed", found->second.measurement},
                           {"hardening_failed", found->second.hardening},
                           {"hardening_run", found->second.hardening_run}};
    models.push_back(entry);
  }
  return models;
}

Json build_json(const BuildInfo& build) {
  Json libraries = Json::object();
  for (const auto& [library, version] : build.libraries) libraries[library] = version;
  return {{"cmbench_version", build.version},
          {"git_commit", build.commit},
          {"compiler", build.compiler},
          {"libraries", libraries}};
}

// The machine the sweep ran on, and how the sweep placed itself there.
Json machine_json(const SweepConfig& config, const BuildInfo& build) {
  return {{"kernel", build.kernel},
          {"cpu_model", cpu_model()},
          {"cores", std::thread::hardware_concurrency()},
          {"server_cpus", config.server_cpus},
          {"load_cpus", config.load_cpus},
          {"busy_poll", config.busy_poll},
          {"profile", config.profile},
          {"somaxconn", read_first_line("/proc/sys/net/core/somaxconn")},
          {"tcp_tw_reuse", read_first_line("/proc/sys/net/ipv4/tcp_tw_reuse")},
          {"ip_local_port_range", read_first_line("/proc/sys/net/ipv4/ip_local_port_range")},
          {"io_uring_unavailable", build.io_uring_unavailable},
          {"io_uring_features", build.io_uring_features}};
}

Json hosts_json(const SweepConfig& config) {
  const auto host_json = [](const HostInfo& info) {
    return Json{{"spec", info.spec},
                {"cmbench_version", info.cmbench_version},
                {"kernel", info.kernel},
                {"cpus", info.cpus},
                {"clock_offset_ms", json_number(info.clock_offset_ms, 3)},
                {"clock_round_trip_ms", json_number(info.clock_round_trip_ms, 3)}};
  };
  Json load = Json::array();
  for (size_t i = 1; i < config.host_infos.size(); ++i)
    load.push_back(host_json(config.host_infos[i]));
  return {{"server", host_json(config.host_infos.front())},
          {"server_address", config.host},
          {"load", load}};
}

Json builds_json(const SweepConfig& config) {
  Json builds = Json::array();
  for (const auto& other : config.builds)
    builds.push_back(
        {{"label", other.label}, {"binary", other.path}, {"version", version_of(other.path)}});
  return builds;
}

Json sweep_summary_json(const SweepSummary& summary) {
  Json workloads = Json::object();
  for (const auto& [workload, part] : summary.workloads)
    workloads[workload] = summary_json(part, summary.rate_sweep);
  return {{"slo_p99_ms", summary.slo_p99_ms},
          {"rate_sweep", summary.rate_sweep},
          {"models", summary_json(summary.models, summary.rate_sweep)},
          {"workloads", workloads}};
}

Json search_json(const SweepConfig& config, const std::vector<FoundRate>& searches) {
  Json found = Json::array();
  for (const auto& [key, outcome] : searches)
    found.push_back({{"model", key.model},
                     {"workload", key.workload},
                     {"connections", key.connections},
                     {"idle_connections", key.idle_connections},
                     {"server_threads", key.server_threads},
                     {"estimate_rps", json_number(outcome.estimate, 2)},
                     {"max_rate", outcome.max_rate},
                     {"bracket", {outcome.max_rate, outcome.fail ? Json(*outcome.fail) : Json()}},
                     {"points", outcome.points},
                     {"path", outcome.path},
                     {"end", outcome.end}});
  return {{"kind", config.search},
          {"slo_p99_ms", config.slo_p99_ms},
          {"resolution", config.search_resolution},
          {"found", found}};
}

Json expectations_json(const std::vector<Verdict>& verdicts) {
  Json expectations = Json::array();
  for (const auto& verdict : verdicts)
    expectations.push_back({{"claim", verdict.claim},
                            {"held", verdict.held ? Json(*verdict.held) : Json()},
                            {"measured", verdict.measured},
                            {"metric", verdict.metric}});
  return expectations;
}

}  // namespace

void write_manifest(const SweepConfig& config, const std::string& started,
                    const SweepOutcome* outcome) {
  const BuildInfo build = build_info();
  Json json = {{"scenario", config.scenario},
               {"question", config.question},
               {"expect", config.expect},
               {"command", config.command_line}};
  json.update(build_json(build));
  json["started"] = started;
  json["finished"] = outcome ? outcome->finished : "";
  json.update(machine_json(config, build));
  json["models"] = models_json(config, outcome);
  if (!config.host_infos.empty()) json["hosts"] = hosts_json(config);
  if (!config.builds.empty()) json["builds"] = builds_json(config);
  if (outcome) json["summary"] = sweep_summary_json(outcome->summary);
  if (!config.search.empty())
    json["search"] = search_json(config, outcome ? outcome->searches : std::vector<FoundRate>{});
  if (!config.claims.empty()) {
    json["claims"] = config.claims;
    json["claims_judged_without"] = config.replaced;
    if (outcome) json["expectations"] = expectations_json(outcome->verdicts);
  }
  const std::filesystem::path path = std::filesystem::path(config.out).replace_extension(".json");
  write_file_atomically(path.string(),
                        json.dump(2, ' ', false, Json::error_handler_t::replace) + "\n");
}

}  // namespace cmb::harness
