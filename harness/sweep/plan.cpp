#include "harness/sweep/plan.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sched.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "harness/base/exit_codes.hpp"
#include "harness/base/files.hpp"
#include "harness/results/csv.hpp"
#include "harness/results/schema.hpp"
#include "servers/limits.hpp"
#include "servers/registry.hpp"

namespace cmb::harness {
namespace {

namespace fs = std::filesystem;

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  return cpus;
}

int largest(const std::vector<int>& values) {
  return values.empty() ? 0 : *std::max_element(values.begin(), values.end());
}

}  // namespace

std::set<PointId> measured_points(const std::string& csv) {
  std::set<PointId> done;
  if (!fs::exists(csv)) return done;
  const CsvTable table = read_csv_table(csv);
  const PointReader reader(table);
  for (const auto& row : table.rows)
    if (table.measured(row)) done.insert(reader.read(row));
  return done;
}

std::vector<PointId> plan_points(const SweepConfig& config, const std::set<PointId>& done) {
  // Models that differ only in their build form one group, measured in turn.
  std::vector<std::vector<const SweepModel*>> groups;
  for (const auto& model : config.resolved) {
    if (groups.empty() || groups.back().front()->spec.without_build() != model.spec.without_build())
      groups.emplace_back();
    groups.back().push_back(&model);
  }
  std::vector<PointId> points;
  for (int rep = 1; rep <= config.repeat; ++rep)
    for (const auto& group : groups)
      for (const auto& workload : config.workloads)
        for (double rate : config.rates)
          for (int idle : config.idle_connections)
            for (int connections : config.connections)
              for (size_t turn = 0; turn < group.size(); ++turn) {
                const SweepModel& model = *group[rep % 2 == 1 ? turn : group.size() - 1 - turn];
                PointId point;
                point.model = model.text;
                point.server_threads = model.threads(config.server_threads);
                point.workload = workload;
                point.connections = connections;
                point.rate = rate;
                point.idle_connections = idle;
                point.repetition = rep;
                if (!done.count(point)) points.push_back(point);
              }
  return points;
}

void choose_cpus(SweepConfig& config) {
  if (!config.pin) {
    config.server_cpus.clear();
    config.load_cpus.clear();
    return;
  }
  if (!config.server_cpus.empty() || !config.load_cpus.empty()) return;
  const std::vector<int> cpus = allowed_cpus();
  if (cpus.size() < 2) {
    fmt::print(stderr, "warning: one CPU only: server and load generator share it\n");
    return;
  }
  const auto half = static_cast<std::ptrdiff_t>(cpus.size() / 2);
  config.server_cpus.assign(cpus.begin(), cpus.begin() + half);
  config.load_cpus.assign(cpus.begin() + half, cpus.end());
}

void check_busy_poll(const SweepConfig& config) {
  if (!config.busy_poll || !config.load_hosts.empty()) return;
  if (config.load_cpus.empty())
    throw UsageError(
        "--busy-poll: the load threads would spin on the server's CPUs; give --load-cpus "
        "apart from --server-cpus (and leave out --no-pin)");
  for (int cpu : config.load_cpus)
    if (std::find(config.server_cpus.begin(), config.server_cpus.end(), cpu) !=
        config.server_cpus.end())
      throw UsageError(fmt::format(
          "--busy-poll: load CPU {} is also a server CPU; a polling load thread would take it "
          "from the server",
          cpu));
}

std::string check_rates(SweepConfig& config) {
  const bool ramp = config.ramp.ramps();
  if (config.search.empty() && !ramp) return "";
  if (ramp && !config.search.empty())
    throw UsageError("--ramp and --search rate each choose the rates: give one");
  if (ramp && config.requests_per_connection > 0)
    throw UsageError("--ramp runs through a window of time: leave out --requests-per-connection");
  const std::string by = ramp ? "--ramp" : "--search rate";
  std::string note;
  if (config.rates != std::vector<double>{0})
    note = fmt::format("note: {} chooses the rates itself; the rates given ({}) are not swept", by,
                       fmt::join(config.rates, ","));
  config.rates = {ramp ? config.ramp.mean() : 0};
  if (ramp) return note;
  if (config.search != "rate")
    throw UsageError(fmt::format("--search {}: the one search is 'rate'", config.search));
  if (config.repeat != 1)
    throw UsageError("--search rate repeats the points near the SLO itself: leave out --repeat");
  if (config.requests_per_connection > 0)
    throw UsageError("--search rate measures windows of time: leave out --requests-per-connection");
  if (!(config.search_resolution > 0 && config.search_resolution < 1))
    throw UsageError(fmt::format("--resolution {:g}: give a share between 0 and 1, such as 5%",
                                 config.search_resolution));
  return note;
}

std::chrono::milliseconds server_header_timeout(const SweepConfig& config) {
  std::chrono::milliseconds longest{0};
  std::vector<double> rates = config.rates;
  rates.insert(rates.end(), config.ramp.rates.begin(), config.ramp.rates.end());
  for (double rate : rates) {
    if (rate <= 0) continue;
    for (int connections : config.connections) {
      const auto gap =
          std::chrono::milliseconds(static_cast<int64_t>(2000.0 * connections / rate) + 1);
      if (gap > std::chrono::seconds(10)) longest = std::max(longest, gap);
    }
  }
  // Idle connections never send: they must outlast their connecting (the
  // harness waits up to a minute for a slow server to accept them), the
  // warm-up and the window. So must a search's connections, whose rates
  // are not known before it starts.
  if (largest(config.idle_connections) > 0 || !config.search.empty()) {
    const auto held = std::chrono::ceil<std::chrono::milliseconds>(
        2 * (config.warmup + config.duration) + std::chrono::minutes(2));
    longest = std::max(longest, held);
  }
  return longest;
}

int server_max_connections(const SweepConfig& config) {
  const int most_connections = largest(config.connections) + largest(config.idle_connections);
  // Headroom for the connections a no-keepalive point has closing.
  const int wanted = most_connections + 64;
  return wanted > servers::Limits{}.max_connections ? wanted : 0;
}

}  // namespace cmb::harness
