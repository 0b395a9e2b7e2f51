#include "harness/sweep/runner.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include "harness/base/build_info.hpp"
#include "harness/base/clock.hpp"
#include "harness/results/claims.hpp"
#include "harness/results/csv.hpp"
#include "harness/results/repetitions.hpp"
#include "harness/results/schema.hpp"
#include "harness/results/search.hpp"
#include "harness/results/summary.hpp"
#include "harness/sweep/manifest.hpp"
#include "harness/sweep/measure.hpp"
#include "harness/sweep/models.hpp"
#include "harness/sweep/plan.hpp"
#include "harness/sweep/point_source.hpp"
#include "harness/sweep/profiler.hpp"
#include "harness/sweep/progress.hpp"
#include "harness/sweep/server_checks.hpp"
#include "harness/sweep/server_process.hpp"
#include "harness/sweep/syscall_counter.hpp"
#include "harness/sweep/workloads.hpp"
#include "loadgen/units.hpp"

namespace cmb::harness {
namespace {

using Clock = std::chrono::steady_clock;

// Set by SIGINT/SIGTERM: the current point ends early and is not recorded.
std::atomic<bool> g_interrupted{false};

void on_interrupt(int) { g_interrupted.store(true); }

// What the flags ask that cannot be, refused before anything runs: a
// model, build, host, workload or claim (usage errors), and what this
// machine cannot measure, said once.
void check_sweep(SweepConfig& config) {
  resolve_sweep(config);              // a model, build or host that cannot be is a usage error, now
  check_workloads(config.workloads);  // so is a workload the handler would not serve
  if (config.rates.empty()) config.rates = {0};
  if (const std::string note = check_rates(config); !note.empty()) fmt::print(stderr, "{}\n", note);
  if (config.idle_connections.empty()) config.idle_connections = {0};
  check_claims(config.claims);  // a claim that does not parse stops the run before it starts
  if (config.count_syscalls && !SyscallCounter::unavailable_reason().empty())
    fmt::print(stderr, "warning: --syscalls: {}; server_syscalls_per_request stays empty\n",
               SyscallCounter::unavailable_reason());
  if (config.profile && !Profiler::unavailable_reason().empty())
    fmt::print(stderr, "warning: --profile: {}; the cpu_*_us_per_request columns stay empty\n",
               Profiler::unavailable_reason());
  else if (config.profile && Profiler::flame_graph_template().empty())
    fmt::print(stderr,
               "note: --profile: no flame graph template (scripts/deps installs d3-flame-graph "
               "from npm): each point gets its .folded stacks only\n");
}

// The hosts: reached (pushed to first with --push), each one's cmbench the
// same build as ours, their clocks' offsets noted. A host that cannot be
// reached stops the run before it starts, named.
void prepare_hosts(SweepConfig& config) {
  for (const auto& host : config.load_hosts)
    if (const std::string why = host_unreachable_reason(host); !why.empty())
      throw std::runtime_error("load host " + why);
  if (config.push) {
    push_binary(config.server_host);
    for (auto& host : config.load_hosts) push_binary(host);
  }
  if (const std::string why = host_unreachable_reason(config.server_host); !why.empty())
    throw std::runtime_error("server host " + why);
  if (config.load_hosts.empty() && config.server_host.kind == HostSpec::Kind::kLocal) return;
  config.host_infos.clear();
  config.host_infos.push_back(describe_host(config.server_host));
  for (const auto& host : config.load_hosts) config.host_infos.push_back(describe_host(host));
  std::string ours = version_text(build_info());
  ours = ours.substr(0, ours.find('\n'));
  for (const auto& info : config.host_infos) {
    if (const std::string problem = host_problem(info, ours); !problem.empty())
      throw std::runtime_error(problem);
    if (const std::string warning = clock_warning(info); !warning.empty())
      fmt::print(stderr, "warning: {}\n", warning);
  }
}

// After the last point: the repetitions' intervals, the manifest with what
// the sweep found, and what it tells people; the run's exit code.
int finish_sweep(const SweepConfig& config, const std::string& started, const ServerChecks& checks,
                 size_t kept) {
  // Over the whole CSV: with --resume it holds earlier runs' points too.
  try {
    annotate_repetitions(config.out);
  } catch (const std::exception& e) {
    fmt::print(stderr, "warning: repetitions' intervals not written: {}\n", e.what());
  }
  const std::vector<ResultRow> rows = read_result_rows(config.out);
  SweepOutcome outcome;
  outcome.finished = utc_now("%Y-%m-%dT%H:%M:%SZ");
  outcome.summary = summarize(rows, config.models, config.slo_p99_ms);
  outcome.searches = replay_searches(rows, {config.slo_p99_ms, config.search_resolution});
  outcome.verdicts = evaluate_claims(config.claims, config.out, outcome.summary);
  outcome.checks = checks.findings();
  write_manifest(config, started, &outcome);
  if (g_interrupted) {
    fmt::print("interrupted: {} points kept in {}; --resume continues\n", kept, config.out);
    return 130;
  }
  print_summary(config, outcome.summary, outcome.searches);
  checks.print();
  const size_t failed = print_failures(rows);
  print_verdicts(outcome.verdicts, config.replaced);
  fmt::print("\nCSV: {}\nmanifest: {}\n", config.out,
             std::filesystem::path(config.out).replace_extension(".json").string());
  if (config.plots) print_charts(config);
  // The CSV is whole either way; a point that was not measured makes the
  // run fail, so CI and scripts cannot take a vanished model for a result.
  return failed > 0 ? 1 : 0;
}

// One point against its model's server, started afresh for a new model or
// when the last one died; a point that cannot be measured is an error row.
// An --external server is checked before its first point, and one that
// failed is not started again for its other points.
class PointRunner {
 public:
  explicit PointRunner(const SweepConfig& config)
      : config_(config),
        measurer_(config, &g_interrupted),
        checks_(config),
        header_timeout_(server_header_timeout(config)),
        max_connections_(server_max_connections(config)) {}

  ResultRow measure(const PointId& point) {
    if (point.model != current_model_ || (server_ && !server_->poll_exit().empty())) {
      server_.reset();
      current_model_ = point.model;
    }
    const SweepModel& model = config_.model(point.model);
    try {
      refuse_unmeasurable(model, point);
      checks_.refuse_if_failed(model);
      if (!server_) server_ = start_server(model);
      checks_.check_once(model, server_->port());
      return measurer_.measure(*server_, point);
    } catch (const std::exception& e) {
      ResultRow row = row_for(point, model);
      row.error = e.what();
      server_.reset();
      return row;
    }
  }
  // A point cut short is no result: its files go.
  void discard(const PointId& point) const { measurer_.discard(point); }
  void stop() { server_.reset(); }
  const ServerChecks& checks() const { return checks_; }

 private:
  static void refuse_unmeasurable(const SweepModel& model, const PointId& point) {
    if (!model.unavailable.empty())
      throw std::runtime_error(
          fmt::format("{} cannot run here: {}", model.spec.name, model.unavailable));
    if (!model.workload && !point.workload.empty())
      throw std::runtime_error(fmt::format(
          "{} serves only the hello workload: '{}' would be ignored", point.model, point.workload));
  }

  std::unique_ptr<ServerProcess> start_server(const SweepModel& model) const {
    return std::make_unique<ServerProcess>(
        ServerProcess::Options{.binary = model.binary,
                               .model = model.spec.name,
                               .command = model.command,
                               .host = config_.host,
                               .threads = model.threads(config_.server_threads),
                               .cpus = config_.server_cpus,
                               .header_timeout = header_timeout_,
                               .max_connections = max_connections_,
                               .uring = model.spec.setup,
                               .attribution = config_.attribution && !model.external,
                               .where = config_.server_host});
  }

  const SweepConfig& config_;
  PointMeasurer measurer_;
  ServerChecks checks_;
  const std::chrono::milliseconds header_timeout_;
  const int max_connections_;
  std::unique_ptr<ServerProcess> server_;
  std::string current_model_;
};

void print_banner(const SweepConfig& config, const PointSource& source) {
  if (!config.question.empty()) fmt::print("{}\n", config.question);
  if (!config.expect.empty()) fmt::print("Expected: {}\n", config.expect);
  fmt::print("cmbench run{}: {} {}{}, {} + {} warm-up each; server CPUs [{}], load CPUs [{}]\n",
             config.scenario.empty() ? "" : " " + config.scenario, source.planned(),
             source.searches() ? "searches" : "points",
             source.already() == 0 ? "" : fmt::format(" ({} already in the CSV)", source.already()),
             loadgen::format_nanos(static_cast<double>(config.duration.count())),
             config.warmup_auto ? std::string("auto")
                                : loadgen::format_nanos(static_cast<double>(config.warmup.count())),
             fmt::join(config.server_cpus, ","), fmt::join(config.load_cpus, ","));
  std::fflush(stdout);
}

void catch_interrupts() {
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

// Every point the source gives, each row written as it is measured, until
// the source ends or an interrupt; the rows kept.
size_t measure_points(PointSource& source, PointRunner& runner, CsvWriter& csv) {
  size_t kept = 0;
  const auto sweep_start = Clock::now();
  while (!g_interrupted) {
    const std::optional<PointId> point = source.next();
    if (!point) break;
    ResultRow row = runner.measure(*point);
    if (g_interrupted) {  // a cut-short point is not a result
      runner.discard(*point);
      break;
    }
    source.take(row);
    csv.write(row);
    ++kept;
    const double elapsed = std::chrono::duration<double>(Clock::now() - sweep_start).count();
    print_progress(source.where(), row, source.seconds_left(elapsed));
  }
  return kept;
}

}  // namespace

int run_sweep(SweepConfig config) {
  check_sweep(config);
  prepare_hosts(config);
  choose_cpus(config);
  check_busy_poll(config);
  if (config.out.empty())
    config.out = fmt::format("results/{}-{}.csv", config.scenario.empty() ? "run" : config.scenario,
                             utc_now("%Y%m%d-%H%M%S"));
  const std::unique_ptr<PointSource> source = point_source(config);  // reads --resume's CSV
  CsvWriter csv(config.out);
  const std::string started = utc_now("%Y-%m-%dT%H:%M:%SZ");
  write_manifest(config, started);
  print_banner(config, *source);
  catch_interrupts();
  PointRunner runner(config);
  const size_t kept = measure_points(*source, runner, csv);
  runner.stop();
  return finish_sweep(config, started, runner.checks(), kept);
}

}  // namespace cmb::harness
