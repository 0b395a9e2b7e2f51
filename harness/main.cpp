// cmbench: the one executable. Each subcommand is registered by one function
// below, with its flags, their conversion and its action together (a CLI11
// callback); the work itself is in harness/commands.hpp, compare.hpp and
// runner.hpp.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <memory>

#include "harness/build_info.hpp"
#include "harness/commands.hpp"
#include "harness/compare.hpp"
#include "harness/export.hpp"
#include "harness/html_report.hpp"
#include "harness/lab.hpp"
#include "harness/man_page.hpp"
#include "harness/runner.hpp"
#include "loadgen/units.hpp"
#include "loadgen/url.hpp"
#include "net/uring.hpp"
#include "servers/external.hpp"
#include "servers/registry.hpp"

namespace {

using cmb::harness::kExitFailure;
using cmb::harness::kExitOk;
using cmb::harness::kExitUsage;

// A CLI11 validator that takes what `parse` takes, and otherwise says what
// it threw.
template <typename Parse>
CLI::Validator validator(Parse parse, const char* name) {
  return CLI::Validator(
      [parse](std::string& text) {
        try {
          parse(text);
          return std::string();
        } catch (const std::exception& e) {
          return std::string(e.what());
        }
      },
      name);
}

// Durations in wrk's syntax ("10s", "500ms").
const CLI::Validator kDuration =
    validator([](const std::string& text) { cmb::loadgen::parse_duration(text); }, "DURATION");

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

// Where a subcommand's action leaves the process exit code.
using ExitCode = std::shared_ptr<int>;

void add_models(CLI::App& app, const ExitCode& exit_code) {
  app.add_subcommand("models", "list the concurrency models that run here")->callback([exit_code] {
    *exit_code = cmb::harness::models_command();
  });
}

void add_serve(CLI::App& app, const ExitCode& exit_code) {
  auto* serve = app.add_subcommand("serve", "run one model until SIGINT or SIGTERM");
  struct Options {
    std::string model;
    std::string command;
    std::string ready_line;
    cmb::servers::ServerConfig config;
    std::string header_timeout = "10s";
    bool control_stdin = false;
  };
  auto o = std::make_shared<Options>();
  auto* model = serve->add_option("--model", o->model, "model name (see `cmbench models`)");
  auto* command =
      serve
          ->add_option("--command", o->command,
                       "run this server instead of a model: a command line with {host}, {port}, "
                       "{address}, {threads}, {dir}, {max_connections}, {header_timeout_ms} "
                       "(README \"External servers\")")
          ->excludes(model);
  serve
      ->add_option("--ready-line", o->ready_line,
                   "with --command: ready once its stdout has a line with this text (and the "
                   "port accepts); default: once the port accepts")
      ->needs(command);
  serve->add_option("--host", o->config.host, "address to bind")->capture_default_str();
  serve->add_option("--port", o->config.port, "port to bind; 0 picks a free one")
      ->capture_default_str();
  serve
      ->add_option("--threads", o->config.threads,
                   "workers, loops or processes; 0 = the model's default")
      ->check(CLI::NonNegativeNumber);
  serve->add_option("--backlog", o->config.backlog, "listen backlog")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  // The limits a client meets (servers/limits.hpp; README "Limits and defaults").
  serve
      ->add_option("--header-timeout", o->header_timeout,
                   "close a connection that completes no request (or reads no response) for this "
                   "long; 408 if it sent part of one")
      ->capture_default_str()
      ->check(kDuration);
  serve
      ->add_option("--max-header-size", o->config.limits.max_header_bytes,
                   "bytes of request line and headers; more is answered 431")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve
      ->add_option("--max-body-size", o->config.limits.max_body_bytes,
                   "bytes of request body; more is answered 413")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  serve
      ->add_option("--max-connections", o->config.limits.max_connections,
                   "open connections per server process; one more is answered 503 and closed")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  auto* uring = serve
                    ->add_option("--uring", o->config.uring,
                                 "the io-uring model's ring: defer-taskrun, coop-taskrun, sqpoll "
                                 "or plain (README \"io_uring settings\")")
                    ->capture_default_str()
                    ->check(CLI::IsMember(cmb::net::uring_setup_names()));
  serve
      ->add_flag("--control-stdin", o->control_stdin,
                 "answer a `snapshot` line on stdin with the counters and the process tree; stop "
                 "when stdin ends (for a harness on another host)")
      ->group("");
  serve
      ->add_option("--counters-fd", o->config.counters_fd,
                   "keep the server's counters in this inherited memfd (for a harness that maps "
                   "it)")
      ->group("");  // for `cmbench run`, not for people
  serve->callback([o, exit_code, uring] {
    o->config.limits.header_timeout = std::chrono::ceil<std::chrono::milliseconds>(
        cmb::loadgen::parse_duration(o->header_timeout));
    if (o->config.limits.header_timeout.count() <= 0) {
      fmt::print(stderr, "cmbench serve: --header-timeout must be positive\n");
      *exit_code = kExitUsage;
      return;
    }
    if (o->model.empty() == o->command.empty()) {
      fmt::print(stderr, "cmbench serve: give --model NAME or --command LINE\n");
      *exit_code = kExitUsage;
      return;
    }
    if (uring->count() > 0 && o->model != "io-uring") {
      fmt::print(stderr, "cmbench serve: --uring sets up the io-uring model's ring only\n");
      *exit_code = kExitUsage;
      return;
    }
    std::optional<cmb::servers::ExternalCommand> external;
    if (!o->command.empty()) {
      try {
        external.emplace();
        external->argv = cmb::servers::split_command_line(o->command);
        external->ready_line = o->ready_line;
      } catch (const std::invalid_argument& e) {
        fmt::print(stderr, "cmbench serve: {}\n", e.what());
        *exit_code = kExitUsage;
        return;
      }
    }
    *exit_code = cmb::harness::serve_command(o->model, o->config, external, o->control_stdin);
  });
}

void add_load(CLI::App& app, const ExitCode& exit_code) {
  auto* load =
      app.add_subcommand("load", "drive a server with HTTP requests (wrk and wrk2's flags)");
  struct Options {
    std::vector<std::string> urls;
    cmb::loadgen::LoadConfig config;
    cmb::harness::LoadOutputs outputs;
    std::string duration = "10s", warmup = "0s", timeout = "2s", think = "0s", max_spin = "200us";
    std::string arrival = "uniform", engine = "epoll", segment;
    bool no_keepalive = false;
  };
  auto o = std::make_shared<Options>();
  load->add_option("url", o->urls,
                   "http://host:port/path?query, several with @WEIGHT to mix them (same host)")
      ->required();
  load->add_option("-c,--connections", o->config.connections, "connections to keep open")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  load->add_option("-t,--threads", o->config.threads, "threads, each with its own event loop")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  auto* duration =
      load->add_option("-d,--duration", o->duration, "measured duration (10s, 500ms, 2m)")
          ->capture_default_str()
          ->check(kDuration);
  auto* requests =
      load->add_option("--requests", o->config.max_requests,
                       "send exactly N requests and wait for their responses (instead of -d)")
          ->check(CLI::PositiveNumber);
  load->add_option("--warmup", o->warmup, "load before measuring, not recorded")
      ->capture_default_str()
      ->check(kDuration)
      ->excludes(requests);
  load->add_option("--timeout", o->timeout, "a request without a response by then is an error")
      ->capture_default_str()
      ->check(kDuration);
  load->add_option(
          "-R,--rate", o->config.rate,
          "open loop: requests/s over all connections, latency from the intended send time")
      ->check(CLI::PositiveNumber);
  load->add_option("--arrival", o->arrival, "open-loop spacing: uniform or poisson")
      ->capture_default_str()
      ->check(CLI::IsMember({"uniform", "poisson"}));
  load->add_option("--max-spin", o->max_spin,
                   "open loop: poll at most this long before a due send instead of sleeping, to "
                   "send on time (0: never)")
      ->capture_default_str()
      ->check(kDuration);
  load->add_option("--engine", o->engine,
                   "how each thread does I/O: epoll (readiness) or io-uring (batched completions)")
      ->capture_default_str()
      ->check(CLI::IsMember({"epoll", "io-uring"}));
  load->add_option("--think", o->think, "closed loop: pause before each request")->check(kDuration);
  load->add_option("--idle-connections", o->config.idle_connections,
                   "this many more connections that connect before the run and never send, held "
                   "to its end (from 127.0.0.2, .3, ... beyond 20 000 on loopback)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  load->add_option("--pipeline", o->config.pipeline, "requests in flight per connection")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  load->add_flag("--no-keepalive", o->no_keepalive, "a new connection for every request");
  load->add_option("--segment", o->segment,
                   "K/N: be agent K of N that together make this load: -c, --idle-connections and "
                   "--requests are totals shared out, and -R's schedule is one for all")
      ->check(kSegment);
  load->add_flag("--agent", o->outputs.agent,
                 "for `cmbench run --load-hosts`: print the whole result as one JSON line, and "
                 "stop when standard input closes")
      ->group("");
  load->add_flag("--interval-histograms", o->config.interval_histograms,
                 "keep a histogram per second (as --hlog does), for --agent")
      ->group("");
  load->add_option("--cpus", o->config.cpus, "pin load thread i to the i-th of these CPUs")
      ->delimiter(',');
  load->add_option("--start-at", o->config.start_at_ns,
                   "start at this wall-clock instant (ns since the epoch), with other agents")
      ->check(CLI::PositiveNumber);
  load->add_flag("--latency", o->outputs.latency_distribution, "print the latency distribution");
  load->add_flag("--json", o->outputs.json, "print one JSON object instead of the summary");
  load->add_option("--timeline", o->outputs.timeline_path, "write per-second figures to this CSV");
  load->add_option("--hist", o->outputs.hist_path,
                   "write the latency distribution by percentile (mergeable) to this file");
  load->add_option("--hlog", o->outputs.hlog_path,
                   "write an HdrHistogram interval log (format 1.3), one interval per second "
                   "(tags corrected and uncorrected in an open loop)");
  load->callback([o, exit_code, duration] {
    try {
      for (const auto& text : o->urls)
        o->config.targets.push_back(cmb::loadgen::parse_target(text));
    } catch (const std::invalid_argument& e) {
      fmt::print(stderr, "cmbench load: {}\n", e.what());
      *exit_code = kExitUsage;
      return;
    }
    o->config.duration = cmb::loadgen::parse_duration(o->duration);
    if (o->config.max_requests > 0 && duration->count() == 0)
      o->config.duration = std::chrono::hours(24);  // --requests alone: until they are done
    o->config.warmup = cmb::loadgen::parse_duration(o->warmup);
    o->config.timeout = cmb::loadgen::parse_duration(o->timeout);
    o->config.think = cmb::loadgen::parse_duration(o->think);
    o->config.max_spin = cmb::loadgen::parse_duration(o->max_spin);
    o->config.arrival =
        o->arrival == "poisson" ? cmb::loadgen::Arrival::kPoisson : cmb::loadgen::Arrival::kUniform;
    o->config.keep_alive = !o->no_keepalive;
    if (!o->segment.empty())
      std::tie(o->config.segment, o->config.segments) = parse_segment(o->segment);
    o->config.interval_histograms |= !o->outputs.hlog_path.empty();
    if (o->engine == "io-uring") {
      if (const std::string why = cmb::net::uring_unavailable_reason(); !why.empty()) {
        fmt::print(stderr, "cmbench load: --engine io-uring {}\n", why);
        *exit_code = kExitUsage;
        return;
      }
      o->config.engine = cmb::loadgen::IoEngine::kIoUring;
    }
    *exit_code = cmb::harness::load_command(o->config, o->outputs);
  });
}

void add_merge_hist(CLI::App& app, const ExitCode& exit_code) {
  auto* merge = app.add_subcommand(
      "merge-hist", "add up --hist files or .hlog interval logs from several load generators");
  struct Options {
    std::vector<std::string> inputs;
    std::string output, tag;
  };
  auto o = std::make_shared<Options>();
  merge
      ->add_option("files", o->inputs,
                   "files written by `cmbench load --hist` or `--hlog` (or any HdrHistogram "
                   "interval log of nanoseconds)")
      ->required()
      ->check(CLI::ExistingFile);
  merge->add_option("-o,--out", o->output,
                    "write the merged file here (default: stdout); *.hlog: an interval log whose "
                    "intervals add those starting at the same instant");
  merge->add_option("--tag", o->tag,
                    "interval logs: the tag of the lines to add up into a --hist total (default: "
                    "untagged and corrected)");
  merge->callback([o, exit_code] {
    *exit_code = cmb::harness::merge_hist_command(o->inputs, o->output, o->tag);
  });
}

void add_compare(CLI::App& app, const ExitCode& exit_code) {
  auto* compare = app.add_subcommand(
      "compare", "is NEW (or build B) worse than BASE (or build A) beyond noise? (exit 1 if so)");
  struct Options {
    std::string base, fresh, format = "text";
    cmb::harness::CompareOptions compare;
    double threshold_percent = 10, p99_threshold_percent = 50;
  };
  auto o = std::make_shared<Options>();
  compare->add_option("base", o->base, "the baseline results CSV")->required();
  compare->add_option("new", o->fresh,
                      "the results CSV to judge; without it, BASE is a same-runner A/B (`run "
                      "--binary A --binary B`) and build A is the base");
  compare
      ->add_option("--metrics", o->compare.metrics,
                   "what to judge: rps, p99, cpu (server CPU µs per request), syscalls (per "
                   "request, from run --syscalls)")
      ->delimiter(',')
      ->capture_default_str()
      ->check(CLI::IsMember({"rps", "p99", "cpu", "syscalls"}));
  compare
      ->add_option("--threshold", o->threshold_percent,
                   "change in requests/s, in %, that counts (default 10)")
      ->check(CLI::PositiveNumber);
  compare
      ->add_option("--p99-threshold", o->p99_threshold_percent,
                   "change in p99, in %, that counts (default 50)")
      ->check(CLI::PositiveNumber);
  compare
      ->add_option("--alpha", o->compare.alpha,
                   "significance level of the t-test on the repetitions")
      ->capture_default_str()
      ->check(CLI::Range(0.0001, 0.5));
  compare->add_option("--normalize-by", o->compare.normalize_by,
                      "divide by this model's figures from the same run (machine-independent)");
  compare->add_option("--format", o->format, "text, markdown or json")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "markdown", "json"}));
  compare->callback([o, exit_code] {
    using Format = cmb::harness::CompareOptions::Format;
    o->compare.threshold = o->threshold_percent / 100.0;
    o->compare.p99_threshold = o->p99_threshold_percent / 100.0;
    o->compare.format = o->format == "json"       ? Format::kJson
                        : o->format == "markdown" ? Format::kMarkdown
                                                  : Format::kText;
    *exit_code = cmb::harness::compare_command(o->base, o->fresh, o->compare);
  });
}

void add_export(CLI::App& app, const ExitCode& exit_code) {
  auto* command = app.add_subcommand(
      "export", "a results CSV as JSON for CI dashboards (github-action-benchmark, Bencher)");
  struct Options {
    std::string csv, format;
    cmb::harness::ExportOptions exports;
  };
  auto o = std::make_shared<Options>();
  command->add_option("csv", o->csv, "a results CSV from `cmbench run`")
      ->required()
      ->check(CLI::ExistingFile);
  command
      ->add_option("--format", o->format,
                   "github-action-benchmark (customBiggerIsBetter and customSmallerIsBetter "
                   "arrays) or bmf (Bencher Metric Format)")
      ->required()
      ->check(CLI::IsMember({"github-action-benchmark", "bmf"}));
  command
      ->add_option("--metric", o->exports.metrics,
                   fmt::format("what to export, from {}",
                               fmt::join(cmb::harness::export_metric_names(), ",")))
      ->delimiter(',')
      ->capture_default_str();
  command->add_option("-o,--out", o->exports.out,
                      "bmf: the file (default: stdout); github-action-benchmark: a prefix for "
                      "PREFIX-bigger.json and PREFIX-smaller.json (required)");
  command->callback([o, exit_code] {
    using Format = cmb::harness::ExportOptions::Format;
    o->exports.format = o->format == "bmf" ? Format::kBmf : Format::kGithubActionBenchmark;
    *exit_code = cmb::harness::export_command(o->csv, o->exports);
  });
}

void add_report(CLI::App& app, const ExitCode& exit_code) {
  auto* command = app.add_subcommand(
      "report", "one self-contained HTML page of runs: question, verdicts, charts, machine");
  struct Options {
    std::vector<std::string> csvs;
    std::string out = "report.html";
    bool slides = false;
  };
  auto o = std::make_shared<Options>();
  command->add_option("csv", o->csvs, "results CSVs from `cmbench run` (their manifests beside)")
      ->required()
      ->check(CLI::ExistingFile);
  command->add_option("-o,--out", o->out, "the HTML file")->capture_default_str();
  command->add_flag("--slides", o->slides,
                    "one scenario per screen, large type, the finding as the headline");
  command->callback(
      [o, exit_code] { *exit_code = cmb::harness::report_command(o->csvs, o->out, o->slides); });
}

void add_lab(CLI::App& app, const ExitCode& exit_code) {
  auto* lab = app.add_subcommand(
      "lab", "a testbed of hosts on this machine: network namespaces on a bridge (root only)");
  lab->require_subcommand(1);
  auto o = std::make_shared<cmb::harness::LabOptions>();
  auto* up = lab->add_subcommand(
      "up", "make (or remake) the lab and print the hosts and flags for `cmbench run`");
  up->add_option("--load-hosts", o->load_hosts, "how many load hosts")
      ->capture_default_str()
      ->check(CLI::Range(1, cmb::harness::kMaxLabLoadHosts));
  up->add_option("--prefix", o->prefix, "the namespaces are PREFIX-server, PREFIX-load1, ...")
      ->capture_default_str();
  up->add_option("--link", o->link_rate,
                 "shape every link to this rate each way with tbf (tc's units: 100mbit, 1gbit)");
  up->callback([o, exit_code] { *exit_code = cmb::harness::lab_up_command(*o); });
  auto* down = lab->add_subcommand(
      "down", "end every process in the lab and delete its namespaces (nothing there: no-op)");
  down->add_option("--prefix", o->prefix, "the lab's prefix, as given to up")
      ->capture_default_str();
  down->callback([o, exit_code] { *exit_code = cmb::harness::lab_down_command(o->prefix); });
}

// For a harness measuring this host's clock against its own: each line
// read is answered with the wall clock, in ns since the epoch.
void add_clock(CLI::App& app, const ExitCode& exit_code) {
  app.add_subcommand("clock", "answer each line on stdin with the wall clock (ns since the epoch)")
      ->group("")
      ->callback([exit_code] {
        for (std::string line; std::getline(std::cin, line);) {
          const auto now = std::chrono::system_clock::now().time_since_epoch();
          fmt::print("{}\n", std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
          std::fflush(stdout);
        }
        *exit_code = kExitOk;
      });
}

// `run` also reads a scenario file (a [run] section) through CLI11's config
// support: main() names it with --scenario-file before parsing.
void add_run(CLI::App& app, const ExitCode& exit_code, cmb::harness::SweepConfig& sweep) {
  auto* run = app.add_subcommand("run", "sweep models x connections x workloads x rates into CSV");
  struct Options {
    std::string duration = "5s", warmup = "1s", timeout = "2s";
    bool no_pin = false, no_plots = false;
    std::vector<std::string> binaries;
    std::vector<std::string> externals;
    std::string server_host = "local";
    std::vector<std::string> load_hosts;
    std::string ssh_config;
  };
  auto o = std::make_shared<Options>();
  run->add_option("--question", sweep.question, "what the scenario asks (from its file)");
  run->add_option("--expect", sweep.expect, "the shape it expects (from its file)");
  run->add_option("--claims", sweep.claims,
                  "the scenario's claims, checked after the run (from its file; README "
                  "\"Scenarios\" has the language)");
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
  run->add_option("--idle-connections", sweep.idle_connections,
                  "idle connection counts: beside the active ones, connections that connect "
                  "before each point and never send (Banga and Druschel's idle clients)")
      ->delimiter(',')
      ->check(CLI::NonNegativeNumber);
  run->add_option("--requests-per-connection", sweep.requests_per_connection,
                  "each point sends connections x N requests and ends (Bendersky's clients)")
      ->check(CLI::NonNegativeNumber);
  run->add_flag("!--keepalive,!--no-keepalive", sweep.keep_alive, "a new connection per request");
  run->add_option("-d,--duration", o->duration, "measured time per point")
      ->capture_default_str()
      ->check(kDuration);
  run->add_option("--warmup", o->warmup, "unrecorded load before each point")
      ->capture_default_str()
      ->check(kDuration);
  run->add_option("--timeout", o->timeout, "per-request timeout")
      ->capture_default_str()
      ->check(kDuration);
  run->add_option("--repeat", sweep.repeat, "repetitions of every point")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  run->add_option("-t,--load-threads", sweep.load_threads, "load generator threads")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  run->add_option("--threads", sweep.server_threads, "--threads for every model (0 = default)")
      ->check(CLI::NonNegativeNumber);
  run->add_option("--slo-p99", sweep.slo_p99_ms, "p99 bound in ms for the knee of a rate sweep")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  run->add_option("--host,--server-address", sweep.host,
                  "address the servers bind and the load connects to")
      ->capture_default_str();
  run->add_option("--server-host", o->server_host,
                  "where the servers run: local, netns:NAME (cmbench lab up makes some) or "
                  "ssh:[USER@]HOST[:PORT]")
      ->capture_default_str();
  run->add_option("--load-hosts", o->load_hosts,
                  "SPEC,...: one load agent (cmbench load) per host, each with its share of "
                  "the connections and of one schedule, started together and merged exactly "
                  "(local, netns:NAME, ssh:[USER@]HOST[:PORT])")
      ->delimiter(',');
  run->add_option("--server-cpus", sweep.server_cpus, "CPUs for the server, e.g. 0 or 0,1")
      ->delimiter(',');
  run->add_option("--load-cpus", sweep.load_cpus, "CPUs for the load generator")->delimiter(',');
  run->add_flag("--no-pin", o->no_pin, "do not pin server and load generator to CPUs");
  run->add_flag("--no-plots", o->no_plots, "do not draw charts");
  run->add_option("--charts", sweep.charts_dir, "where charts go")->capture_default_str();
  run->add_option("-o,--out", sweep.out, "CSV path (default results/<scenario>-<UTC time>.csv)");
  run->add_flag("--resume", sweep.resume, "skip points already measured in --out");
  run->add_option("--binary", o->binaries,
                  "[LABEL=]PATH of a cmbench build whose servers to measure; twice or more for a "
                  "same-runner A/B: rows MODEL@LABEL (A, B, ... by default), the builds taking "
                  "turns point by point")
      ->take_all();
  run->add_option("--external", o->externals,
                  "NAME=COMMAND: a server of your own, usable as NAME in --models; COMMAND takes "
                  "{host}, {port}, {threads}, ... (README \"External servers\"); repeatable")
      ->take_all();
  run->add_option("--ssh-config", o->ssh_config,
                  "ssh hosts: read this ssh_config (ssh -F) instead of ~/.ssh/config");
  run->add_flag("--push", sweep.push,
                "copy this cmbench to each ssh host's /tmp first (else theirs must be the same "
                "build, on PATH)");
  run->add_flag("--syscalls", sweep.count_syscalls,
                "count the server's system calls per request (perf stat; root or "
                "perf_event_paranoid <= -1)");
  run->footer(
      "cmbench run [SCENARIO] [flags]: SCENARIO is scenarios/SCENARIO.toml "
      "(default why-multithreaded); flags override its fields.");
  run->callback([o, exit_code, &sweep] {
    try {
      sweep.server_host = cmb::harness::parse_host(o->server_host);
      sweep.server_host.ssh_config = o->ssh_config;
      sweep.load_hosts.clear();
      for (const auto& host : o->load_hosts) {
        sweep.load_hosts.push_back(cmb::harness::parse_host(host));
        sweep.load_hosts.back().ssh_config = o->ssh_config;
      }
    } catch (const std::invalid_argument& e) {
      fmt::print(stderr, "cmbench run: {}\n", e.what());
      *exit_code = kExitUsage;
      return;
    }
    if (sweep.models.empty()) sweep.models = {"iterative", "thread-per-connection"};
    if (sweep.workloads.empty()) sweep.workloads = {""};
    auto known = cmb::servers::available_model_names();
    for (const auto& given : o->externals) {
      const size_t equals = given.find('=');
      const std::string name = given.substr(0, equals);
      std::string problem;
      if (equals == std::string::npos || equals + 1 == given.size())
        problem = "give NAME=COMMAND";
      else if (name.empty() || name.find_first_of("@,:= ") != std::string::npos)
        problem = "a name must be non-empty, without '@', ',', ':', '=' or spaces";
      else if (cmb::servers::find_model(name) ||
               std::find(known.begin(), known.end(), name) != known.end())
        problem = fmt::format("{} is a model already", name);
      else {
        try {
          (void)cmb::servers::split_command_line(given.substr(equals + 1));
        } catch (const std::invalid_argument& e) {
          problem = e.what();
        }
      }
      if (!problem.empty()) {
        fmt::print(stderr, "cmbench run: --external {}: {}\n", given, problem);
        *exit_code = kExitUsage;
        return;
      }
      sweep.externals.push_back({name, given.substr(equals + 1)});
      known.push_back(name);
    }
    for (const auto& model : sweep.models) {
      // NAME, NAME:THREADS, io-uring+SETUP[:THREADS]
      const size_t colon = model.find(':');
      std::string name = model.substr(0, colon);
      const std::string threads = colon == std::string::npos ? "1" : model.substr(colon + 1);
      const size_t plus = name.find('+');
      const std::string setup = plus == std::string::npos ? "" : name.substr(plus + 1);
      name.resize(std::min(plus, name.size()));
      if (std::find(known.begin(), known.end(), name) == known.end() || threads.empty() ||
          threads.find_first_not_of("0123456789") != std::string::npos) {
        fmt::print(stderr,
                   "cmbench run: unknown model '{}' (known: {}; NAME:THREADS sets its --threads)\n",
                   model, fmt::join(known, ", "));
        *exit_code = kExitUsage;
        return;
      }
      if (plus != std::string::npos) {
        const auto& setups = cmb::net::uring_setup_names();
        if (name != "io-uring" || std::find(setups.begin(), setups.end(), setup) == setups.end()) {
          fmt::print(stderr, "cmbench run: '{}': only io-uring takes +SETUP, one of {}\n", model,
                     fmt::join(setups, ", "));
          *exit_code = kExitUsage;
          return;
        }
      }
    }
    for (size_t i = 0; i < o->binaries.size(); ++i) {
      const std::string& given = o->binaries[i];
      const size_t equals = given.find('=');
      cmb::harness::Build build{equals == std::string::npos
                                    ? std::string(1, static_cast<char>('A' + i % 26))
                                    : given.substr(0, equals),
                                equals == std::string::npos ? given : given.substr(equals + 1)};
      std::string problem;
      if (build.label.empty() || build.label.find_first_of("@,:= ") != std::string::npos)
        problem = "a label must be non-empty, without '@', ',', ':', '=' or spaces";
      else if (::access(build.path.c_str(), X_OK) != 0)
        problem = fmt::format("{} is not an executable file", build.path);
      for (const auto& other : sweep.builds)
        if (other.label == build.label) problem = fmt::format("label {} given twice", build.label);
      if (!problem.empty()) {
        fmt::print(stderr, "cmbench run: --binary {}: {}\n", given, problem);
        *exit_code = kExitUsage;
        return;
      }
      build.path = std::filesystem::absolute(build.path).string();
      sweep.builds.push_back(build);
    }
    // The builds are files here; a server over ssh runs that host's one cmbench.
    if (!sweep.builds.empty() && sweep.server_host.kind == cmb::harness::HostSpec::Kind::kSsh) {
      fmt::print(stderr,
                 "cmbench run: --binary runs builds from this machine's disk, but --server-host {} "
                 "runs the one cmbench there: compare builds with a local or netns: server\n",
                 sweep.server_host.text());
      *exit_code = kExitUsage;
      return;
    }
    sweep.duration = cmb::loadgen::parse_duration(o->duration);
    sweep.warmup = cmb::loadgen::parse_duration(o->warmup);
    sweep.timeout = cmb::loadgen::parse_duration(o->timeout);
    sweep.pin = !o->no_pin;
    sweep.plots = !o->no_plots;
    *exit_code = cmb::harness::run_sweep(sweep);
  });
}

}  // namespace

// Linux's default fs.nr_open: the most a process may be allowed.
constexpr rlim_t kMostDescriptors = 1 << 20;

int main(int argc, char** argv) {
  // A peer that resets mid-write must be an error code, not a dead process.
  ::signal(SIGPIPE, SIG_IGN);
  // Thousands of connections need thousands of descriptors: take the hard
  // limit (the soft default is often 1024), and as root raise the hard limit
  // itself to the kernel's per-process maximum (fs.nr_open), for 100 000
  // connections. Servers children inherit it.
  if (rlimit limit{}; ::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    const rlimit most{kMostDescriptors, kMostDescriptors};
    if (limit.rlim_max >= kMostDescriptors || ::setrlimit(RLIMIT_NOFILE, &most) != 0) {
      limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, kMostDescriptors);
      ::setrlimit(RLIMIT_NOFILE, &limit);
    }
  }

  CLI::App app{
      "cmbench: how a TCP server's concurrency model decides its throughput, latency "
      "and resource use",
      "cmbench"};
  app.require_subcommand(1);
  app.set_version_flag("--version", [] {
    std::string text = cmb::harness::version_text(cmb::harness::build_info());
    if (!text.empty() && text.back() == '\n') text.pop_back();  // CLI11 adds one
    return text;
  });
  const auto exit_code = std::make_shared<int>(kExitOk);
  cmb::harness::SweepConfig sweep;
  add_models(app, exit_code);
  add_serve(app, exit_code);
  add_load(app, exit_code);
  add_merge_hist(app, exit_code);
  add_compare(app, exit_code);
  add_export(app, exit_code);
  add_report(app, exit_code);
  add_run(app, exit_code, sweep);
  add_lab(app, exit_code);
  add_clock(app, exit_code);
  // Set from `run SCENARIO` below; the file's [run] section fills run's flags.
  app.set_config("--scenario-file", "", "a scenario file")->group("");
  app.allow_config_extras(CLI::config_extras_mode::error);

  // `cmbench run [SCENARIO] [flags]`: the scenario's file becomes the
  // config file CLI11 reads; flags still override it.
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args == std::vector<std::string>{"--man"}) {  // for the build: cmbench.1
    fmt::print("{}", cmb::harness::man_page(app, cmb::harness::build_info().version));
    return kExitOk;
  }
  sweep.command_line = "cmbench";
  for (const auto& arg : args) sweep.command_line += " " + arg;
  if (!args.empty() && args[0] == "run") {
    const bool named = args.size() > 1 && args[1].rfind("-", 0) != 0;
    const std::string name = named ? args[1] : "why-multithreaded";
    try {
      const std::string file = cmb::harness::find_scenario(name);
      if (named) args.erase(args.begin() + 1);
      args.insert(args.begin(), {"--scenario-file", file});
      sweep.scenario = std::filesystem::path(name).stem().string();
    } catch (const std::invalid_argument& e) {
      if (named) {
        fmt::print(stderr, "cmbench run: {}\n", e.what());
        return kExitUsage;
      }
    }
  }

  try {
    std::reverse(args.begin(), args.end());  // CLI11 takes a vector in reverse order
    app.parse(args);                         // runs the chosen subcommand's callback
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  } catch (const std::invalid_argument& e) {
    fmt::print(stderr, "cmbench: {}\n", e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    fmt::print(stderr, "cmbench: {}\n", e.what());
    return kExitFailure;
  }
  return *exit_code;
}
