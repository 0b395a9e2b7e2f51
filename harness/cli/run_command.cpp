// `cmbench run`: the sweep's flags and the checks on them; the work is
// harness/sweep/runner.hpp's.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <memory>

#include "harness/base/exit_codes.hpp"
#include "harness/cli/subcommands.hpp"
#include "harness/sweep/models.hpp"
#include "harness/sweep/runner.hpp"
#include "loadgen/units.hpp"
#include "net/uring.hpp"
#include "servers/external.hpp"
#include "servers/registry.hpp"

namespace cmb::harness {
namespace {

// `--slo-p99`: a duration ("25ms", "0.5s"), or a bare number of milliseconds
// as it always was ("10").
double parse_slo_ms(const std::string& text) {
  char* end = nullptr;
  const double ms = std::strtod(text.c_str(), &end);
  if (end != text.c_str() && *end == '\0') {
    if (!(ms > 0)) throw std::invalid_argument(fmt::format("--slo-p99 {}: give more than 0", text));
    return ms;
  }
  const double nanos = static_cast<double>(loadgen::parse_duration(text).count());
  if (!(nanos > 0))
    throw std::invalid_argument(fmt::format("--slo-p99 {}: give more than 0", text));
  return nanos / 1e6;
}

// `--resolution`: "5%" or a share, "0.05"; between 0 and 1.
double parse_share(const std::string& text) {
  char* end = nullptr;
  double share = std::strtod(text.c_str(), &end);
  const std::string_view rest(end);
  if (rest == "%") share /= 100;
  if (end == text.c_str() || (!rest.empty() && rest != "%") || !(share > 0 && share < 1))
    throw std::invalid_argument(
        fmt::format("invalid share '{}' (give e.g. 5% or 0.05, above 0 and below 1)", text));
  return share;
}

// The flags that replace a scenario file's fields: those that change what
// its sweep measures, and so what its claims are about, and its prose.
struct ScenarioField {
  std::string_view flag;
  bool measures;
};
constexpr ScenarioField kScenarioFields[] = {{"--models", true},
                                             {"--connections", true},
                                             {"--workload", true},
                                             {"--rates", true},
                                             {"--ramp", true},
                                             {"--step", true},
                                             {"--idle-connections", true},
                                             {"--requests-per-connection", true},
                                             {"--keepalive", true},
                                             {"--no-keepalive", true},
                                             {"--threads", true},
                                             {"--search", true},
                                             {"--external", true},
                                             {"--binary", true},
                                             {"--question", false},
                                             {"--expect", false},
                                             {"--claims", false}};

bool measures(std::string_view flag) {
  return std::any_of(
      std::begin(kScenarioFields), std::end(kScenarioFields),
      [flag](const ScenarioField& field) { return field.flag == flag && field.measures; });
}

}  // namespace

std::vector<std::string> scenario_fields_given(const std::vector<std::string>& args) {
  std::vector<std::string> given;
  for (const auto& field : kScenarioFields)
    if (std::any_of(args.begin(), args.end(), [&field](const std::string& arg) {
          return arg == field.flag || arg.rfind(std::string(field.flag) + "=", 0) == 0;
        }))
      given.emplace_back(field.flag);
  return given;
}

bool changes_what_is_measured(const std::vector<std::string>& fields) {
  return std::any_of(fields.begin(), fields.end(),
                     [](const std::string& flag) { return measures(flag); });
}

namespace {

// What `run` parses into text first and turns into SweepConfig's fields in
// apply_run_options; shown by --help and the man page with the struct's own
// defaults.
const SweepConfig& sweep_defaults() {
  static const SweepConfig defaults;
  return defaults;
}

struct RunOptions {
  std::string duration = loadgen::format_duration(sweep_defaults().duration);
  std::string warmup = loadgen::format_duration(sweep_defaults().warmup);
  std::string timeout = loadgen::format_duration(sweep_defaults().timeout);
  std::string ramp, step;  // --ramp A:B | A,B,C; --step T
  std::string slo_p99 = fmt::format("{:g}ms", sweep_defaults().slo_p99_ms);
  std::string resolution = fmt::format("{:g}%", sweep_defaults().search_resolution * 100);
  bool no_pin = false, no_plots = false;
  std::vector<std::string> binaries;
  std::vector<std::string> externals;
  std::string server_host = "local";
  std::vector<std::string> load_hosts;
  std::string ssh_config;
};

void add_scenario_flags(CLI::App* run, SweepConfig& sweep) {
  run->add_option("--question", sweep.question, "what the scenario asks (from its file)");
  run->add_option("--expect", sweep.expect, "the shape it expects (from its file)");
  run->add_option("--claims", sweep.claims,
                  "the scenario's claims, checked after the run (from its file; docs/scenarios.md "
                  "has the language)");
}

// What each point is: models, connections, workloads, rates and ramps.
void add_point_flags(CLI::App* run, SweepConfig& sweep, RunOptions& o) {
  run->add_option("--models", sweep.models, "model names; NAME:THREADS gives one its own --threads")
      ->delimiter(',');
  run->add_option("--connections", sweep.connections, "connection counts")
      ->delimiter(',')
      ->check(CLI::PositiveNumber);
  run->add_option("--workload", sweep.workloads,
                  "query strings, ';' between points; QUERY@W|QUERY@W mixes URLs by weight")
      ->delimiter(';');
  run->add_option("--rates", sweep.rates, "open-loop rates in req/s (0 = closed loop)")
      ->delimiter(',')
      ->check(CLI::NonNegativeNumber);
  run->add_option(
         "--ramp", o.ramp,
         "each point's load ramps instead of holding a rate (the open loop, as load's -R): "
         "A:B a line over -d, A,B,C steps (with --step, which sets -d); the "
         "p99_vs_offered_rate chart draws p99 against the rate offered, second by second")
      ->check(validator(loadgen::parse_rate_profile, "RATE"));
  run->add_option("--step", o.step, "with --ramp A,B,C: how long each rate lasts")
      ->check(duration_check());
  run->add_option("--idle-connections", sweep.idle_connections,
                  "idle connection counts: beside the active ones, connections that connect "
                  "before each point and never send (Banga and Druschel's idle clients)")
      ->delimiter(',')
      ->check(CLI::NonNegativeNumber);
  run->add_option("--requests-per-connection", sweep.requests_per_connection,
                  "each point sends connections x N requests and ends (Bendersky's clients)")
      ->check(CLI::NonNegativeNumber);
  run->add_flag("--keepalive,!--no-keepalive", sweep.keep_alive,
                "keep-alive connections, the default; --no-keepalive: a new connection per "
                "request");
  run->add_flag("--attribution,!--no-attribution", sweep.attribution,
                "own models split each request's time into stages (the CSV's inbound_*, "
                "queued_*, service_*, outbound_*, unaccounted_mean_us); every shipped scenario "
                "but ci sets it");
}

void add_timing_flags(CLI::App* run, SweepConfig& sweep, RunOptions& o) {
  run->add_option("-d,--duration", o.duration, "measured time per point")
      ->capture_default_str()
      ->check(duration_check());
  run->add_option("--warmup", o.warmup,
                  "unrecorded load before each point; 'auto': one second at a time until the "
                  "last 5 show no trend (at most 30 s), the warm-up used in column warmup_s")
      ->capture_default_str()
      ->check(duration_check() | CLI::IsMember({"auto"}));
  run->add_option("--timeout", o.timeout, "per-request timeout")
      ->capture_default_str()
      ->check(duration_check());
  run->add_option("--repeat", sweep.repeat, "repetitions of every point")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  run->add_option("-t,--load-threads", sweep.load_threads, "load generator threads")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  run->add_option("--threads", sweep.server_threads, "--threads for every model (0 = default)")
      ->check(CLI::NonNegativeNumber);
}

void add_search_flags(CLI::App* run, SweepConfig& sweep, RunOptions& o) {
  run->add_option("--slo-p99", o.slo_p99,
                  "the p99 bound of the knee and the search (a bare number is milliseconds)")
      ->capture_default_str()
      ->check(validator(parse_slo_ms, "DURATION"));
  run->add_option("--search", sweep.search,
                  "'rate': find each model's highest open-loop rate with p99 under --slo-p99 "
                  "(at most 0.1 % errors, at least 99.5 % of the rate answered) instead of "
                  "sweeping --rates: a closed-loop probe, then growth from 0.8 of it and bisection "
                  "(with --busy-poll the probe is not slowed by waking the load generator)")
      ->check(CLI::IsMember({"rate"}));
  run->add_option("--resolution", o.resolution,
                  "the search ends when its bracket is this narrow, as a share of its rate")
      ->capture_default_str()
      ->check(validator(parse_share, "SHARE"));
}

// Where the servers and the load run, and on which CPUs.
void add_host_flags(CLI::App* run, SweepConfig& sweep, RunOptions& o) {
  run->add_option("--host,--server-address", sweep.host,
                  "address the servers bind and the load connects to")
      ->capture_default_str();
  run->add_option("--server-host", o.server_host,
                  "where the servers run: local, netns:NAME (cmbench lab up makes some) or "
                  "ssh:[USER@]HOST[:PORT]")
      ->capture_default_str();
  run->add_option("--load-hosts", o.load_hosts,
                  "SPEC,...: one load agent (cmbench load) per host, each with its share of "
                  "the connections and of one schedule, started together and merged exactly "
                  "(local, netns:NAME, ssh:[USER@]HOST[:PORT])")
      ->delimiter(',');
  run->add_option("--server-cpus", sweep.server_cpus, "CPUs for the server, e.g. 0 or 0,1")
      ->delimiter(',');
  run->add_option("--load-cpus", sweep.load_cpus, "CPUs for the load generator")->delimiter(',');
  run->add_flag("--no-pin", o.no_pin, "do not pin server and load generator to CPUs");
  run->add_flag("--busy-poll", sweep.busy_poll,
                "the load threads poll instead of sleeping, a load CPU each, so that the server "
                "does not pay to wake them (as load --busy-poll; needs --load-cpus apart from "
                "--server-cpus)");
  run->add_option("--ssh-config", o.ssh_config,
                  "ssh hosts: read this ssh_config (ssh -F) instead of ~/.ssh/config");
  run->add_flag("--push", sweep.push,
                "copy this cmbench to each ssh host's /tmp first (else theirs must be the same "
                "build, on PATH)");
}

void add_output_flags(CLI::App* run, SweepConfig& sweep, RunOptions& o) {
  run->add_flag("--no-plots", o.no_plots, "do not draw charts");
  run->add_option("--charts", sweep.charts_dir,
                  "where charts go (default: plots/out/ and the CSV's name, NAME-TIME)");
  run->add_option("--style", sweep.chart_style,
                  "paper (default) or talk: every chart a 1920x1080 slide, no type under 20 pt")
      ->check(CLI::IsMember({"paper", "talk"}));
  run->add_option("-o,--out", sweep.out, "CSV path (default results/<scenario>-<UTC time>.csv)");
  run->add_flag("--resume", sweep.resume, "skip points already measured in --out");
}

// Which servers: other builds, externals and how they are checked, and what
// is read from them beside the load's figures.
void add_server_flags(CLI::App* run, SweepConfig& sweep, RunOptions& o) {
  run->add_option("--binary", o.binaries,
                  "[LABEL=]PATH of a cmbench build whose servers to measure; twice or more for a "
                  "same-runner A/B: rows MODEL@LABEL (A, B, ... by default), the builds taking "
                  "turns point by point")
      ->take_all();
  run->add_option(
         "--external", o.externals,
         "NAME=COMMAND: a server of your own, usable as NAME in --models; COMMAND takes "
         "{host}, {port}, {threads}, ... (docs/models.md, \"External servers\"); repeatable")
      ->take_all();
  run->add_flag(
      "--no-verify", [&sweep](int64_t) { sweep.verify_externals = false; },
      "measure --external servers without checking them first (cmbench verify)");
  run->add_flag("--static", sweep.static_externals,
                "the --external servers serve only a hello: check them as verify --static does, "
                "and give them no work");
  run->add_flag("--profile", sweep.profile,
                "sample the server's CPU with call stacks over each window (perf): CPU per "
                "request by kind, and a .folded file and a flame graph per point");
  run->add_flag("--syscalls", sweep.count_syscalls,
                "count the server's system calls per request (perf stat; root or "
                "perf_event_paranoid <= -1)");
}

// The parsed flags into the sweep. What cannot be done throws UsageError
// (std::invalid_argument): main says so, exit 2.
void apply_run_options(const RunOptions& o, SweepConfig& sweep) {
  // Without a scenario named, flags that change what the demo measures
  // make the sweep the user's own: the demo's prose and claims are not
  // about it. What is left in `replaced` is what a named scenario's
  // claims are judged without.
  const auto flag_given = [&sweep](std::string_view flag) {
    return std::find(sweep.replaced.begin(), sweep.replaced.end(), flag) != sweep.replaced.end();
  };
  if (sweep.scenario.empty()) {
    if (!flag_given("--question")) sweep.question.clear();
    if (!flag_given("--expect")) sweep.expect.clear();
    if (!flag_given("--claims")) sweep.claims.clear();
  }
  std::erase_if(sweep.replaced, [](const std::string& flag) { return !measures(flag); });
  sweep.server_host = parse_host(o.server_host);
  sweep.server_host.ssh_config = o.ssh_config;
  sweep.load_hosts.clear();
  for (const auto& host : o.load_hosts) {
    sweep.load_hosts.push_back(parse_host(host));
    sweep.load_hosts.back().ssh_config = o.ssh_config;
  }
  if (sweep.models.empty()) sweep.models = {"iterative", "thread-per-connection"};
  if (sweep.workloads.empty()) sweep.workloads = {""};
  for (const auto& given : o.externals) add_external(sweep, given);
  for (size_t i = 0; i < o.binaries.size(); ++i) add_build(sweep, o.binaries[i], i);
  sweep.duration = loadgen::parse_duration(o.duration);
  sweep.warmup_auto = o.warmup == "auto";
  sweep.warmup =
      sweep.warmup_auto ? std::chrono::nanoseconds(0) : loadgen::parse_duration(o.warmup);
  sweep.timeout = loadgen::parse_duration(o.timeout);
  if (!o.ramp.empty() || !o.step.empty()) {
    try {  // steps last all their steps
      sweep.ramp = loadgen::rate_profile(
          o.ramp, o.step, o.step.empty() ? sweep.duration : std::chrono::nanoseconds(0));
    } catch (const std::invalid_argument& e) {
      throw UsageError(e.what());
    }
    sweep.duration = sweep.ramp.window;
  }
  sweep.slo_p99_ms = parse_slo_ms(o.slo_p99);
  sweep.search_resolution = parse_share(o.resolution);
  sweep.pin = !o.no_pin;
  sweep.plots = !o.no_plots;
}

}  // namespace

// `run` also reads a scenario file (a [run] section) through CLI11's config
// support: main() names it with --scenario-file before parsing.
void add_run(CLI::App& app, const ExitCode& exit_code, SweepConfig& sweep) {
  auto* run = app.add_subcommand("run", "sweep models x connections x workloads x rates into CSV");
  auto o = std::make_shared<RunOptions>();
  add_scenario_flags(run, sweep);
  add_point_flags(run, sweep, *o);
  add_timing_flags(run, sweep, *o);
  add_search_flags(run, sweep, *o);
  add_host_flags(run, sweep, *o);
  add_output_flags(run, sweep, *o);
  add_server_flags(run, sweep, *o);
  run->footer(
      "cmbench run [SCENARIO] [flags]: SCENARIO is scenarios/SCENARIO.toml "
      "(default why-multithreaded); flags override its fields. Without SCENARIO, a flag that "
      "changes what is measured (--models, --workload, --rates, ...) makes the run your own: "
      "the demo's claims are not judged.");
  run->callback([o, exit_code, &sweep] {
    apply_run_options(*o, sweep);
    *exit_code = run_sweep(sweep);
  });
}

}  // namespace cmb::harness
