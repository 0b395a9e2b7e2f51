// cmbench: the one executable. Parses the command line (CLI11) and hands
// each subcommand to harness/commands.hpp or harness/runner.hpp.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <signal.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <sstream>

#include "harness/commands.hpp"
#include "harness/compare.hpp"
#include "harness/runner.hpp"
#include "loadgen/units.hpp"
#include "loadgen/url.hpp"
#include "servers/registry.hpp"

namespace {

using cmb::harness::kExitFailure;
using cmb::harness::kExitUsage;

// A CLI11 validator for durations in wrk's syntax ("10s", "500ms").
const CLI::Validator kDuration(
    [](std::string& text) {
      try {
        cmb::loadgen::parse_duration(text);
        return std::string();
      } catch (const std::exception& e) {
        return std::string(e.what());
      }
    },
    "DURATION");

}  // namespace

int main(int argc, char** argv) {
  // A peer that resets mid-write must be an error code, not a dead process.
  ::signal(SIGPIPE, SIG_IGN);
  // Thousands of connections need thousands of descriptors: take the hard
  // limit (the soft default is often 1024). Servers children inherit it.
  if (rlimit limit{}; ::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, 1 << 20);
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }

  CLI::App app{
      "cmbench: how a TCP server's concurrency model decides its throughput, latency "
      "and resource use"};
  app.require_subcommand(1);

  app.add_subcommand("models", "list the concurrency models that run here");

  auto* serve = app.add_subcommand("serve", "run one model until SIGINT or SIGTERM");
  std::string serve_model;
  cmb::servers::ServerConfig server_config;
  serve->add_option("--model", serve_model, "model name (see `cmbench models`)")->required();
  serve->add_option("--host", server_config.host, "address to bind")->capture_default_str();
  serve->add_option("--port", server_config.port, "port to bind; 0 picks a free one")
      ->capture_default_str();
  serve
      ->add_option("--threads", server_config.threads,
                   "workers, loops or processes; 0 = the model's default")
      ->check(CLI::NonNegativeNumber);
  serve->add_option("--backlog", server_config.backlog, "listen backlog")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  // The limits a client meets (servers/limits.hpp; README "Limits and defaults").
  std::string header_timeout_text = "10s";
  serve
      ->add_option("--header-timeout", header_timeout_text,
                   "close a connection that completes no request (or reads no response) for this "
                   "long; 408 if it sent part of one")
      ->capture_default_str()
      ->check(kDuration);
  serve
      ->add_option("--max-header-size", server_config.limits.max_header_bytes,
                   "bytes of request line and headers; more is answered 431")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve
      ->add_option("--max-body-size", server_config.limits.max_body_bytes,
                   "bytes of request body; more is answered 413")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  serve
      ->add_option("--counters-fd", server_config.counters_fd,
                   "keep the server's counters in this inherited memfd (for a harness that maps "
                   "it)")
      ->group("");  // for `cmbench run`, not for people
  serve
      ->add_option("--max-connections", server_config.limits.max_connections,
                   "open connections per server process; one more is answered 503 and closed")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);

  auto* load =
      app.add_subcommand("load", "drive a server with HTTP requests (wrk and wrk2's flags)");
  std::vector<std::string> url_texts;
  cmb::loadgen::LoadConfig load_config;
  cmb::harness::LoadOutputs load_outputs;
  std::string duration_text = "10s", warmup_text = "0s", timeout_text = "2s", think_text = "0s";
  std::string arrival_text = "uniform";
  bool no_keepalive = false;
  load->add_option("url", url_texts,
                   "http://host:port/path?query, several with @WEIGHT to mix them (same host)")
      ->required();
  load->add_option("-c,--connections", load_config.connections, "connections to keep open")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  load->add_option("-t,--threads", load_config.threads, "threads, each with its own event loop")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  load->add_option("-d,--duration", duration_text, "measured duration (10s, 500ms, 2m)")
      ->capture_default_str()
      ->check(kDuration);
  auto* requests_option =
      load->add_option("--requests", load_config.max_requests,
                       "send exactly N requests and wait for their responses (instead of -d)")
          ->check(CLI::PositiveNumber);
  load->add_option("--warmup", warmup_text, "load before measuring, not recorded")
      ->capture_default_str()
      ->check(kDuration)
      ->excludes(requests_option);
  load->add_option("--timeout", timeout_text, "a request without a response by then is an error")
      ->capture_default_str()
      ->check(kDuration);
  load->add_option(
          "-R,--rate", load_config.rate,
          "open loop: requests/s over all connections, latency from the intended send time")
      ->check(CLI::PositiveNumber);
  load->add_option("--arrival", arrival_text, "open-loop spacing: uniform or poisson")
      ->capture_default_str()
      ->check(CLI::IsMember({"uniform", "poisson"}));
  load->add_option("--think", think_text, "closed loop: pause before each request")
      ->check(kDuration);
  load->add_option("--pipeline", load_config.pipeline, "requests in flight per connection")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  load->add_flag("--no-keepalive", no_keepalive, "a new connection for every request");
  load->add_flag("--latency", load_outputs.latency_distribution, "print the latency distribution");
  load->add_flag("--json", load_outputs.json, "print one JSON object instead of the summary");
  load->add_option("--timeline", load_outputs.timeline_path,
                   "write per-second figures to this CSV");
  load->add_option("--hist", load_outputs.hist_path,
                   "write the latency distribution by percentile (mergeable) to this file");

  auto* merge =
      app.add_subcommand("merge-hist", "add up --hist files from several load generators");
  std::vector<std::string> hist_inputs;
  std::string hist_output;
  merge->add_option("files", hist_inputs, "histogram files written by `cmbench load --hist`")
      ->required()
      ->check(CLI::ExistingFile);
  merge->add_option("-o,--out", hist_output, "write the merged file here (default: stdout)");

  auto* compare =
      app.add_subcommand("compare", "is NEW worse than BASE beyond noise? (exit 1 if so)");
  std::string compare_base, compare_new, compare_format = "text";
  cmb::harness::CompareOptions compare_options;
  double threshold_percent = 10;
  compare->add_option("base", compare_base, "the baseline results CSV")->required();
  compare->add_option("new", compare_new, "the results CSV to judge")->required();
  double p99_threshold_percent = 50;
  compare
      ->add_option("--threshold", threshold_percent,
                   "change in requests/s, in %, that counts (default 10)")
      ->check(CLI::PositiveNumber);
  compare
      ->add_option("--p99-threshold", p99_threshold_percent,
                   "change in p99, in %, that counts (default 50)")
      ->check(CLI::PositiveNumber);
  compare
      ->add_option("--alpha", compare_options.alpha,
                   "significance level of the t-test on the repetitions")
      ->capture_default_str()
      ->check(CLI::Range(0.0001, 0.5));
  compare->add_option("--normalize-by", compare_options.normalize_by,
                      "divide by this model's figures from the same run (machine-independent)");
  compare->add_option("--format", compare_format, "text, markdown or json")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "markdown", "json"}));

  auto* run = app.add_subcommand("run", "sweep models x connections x workloads x rates into CSV");
  cmb::harness::SweepConfig sweep;
  std::string run_duration = "5s", run_warmup = "1s", run_timeout = "2s";
  bool no_pin = false, no_plots = false;
  // Scenario files (scenarios/NAME.toml, a [run] section) set these too.
  run->add_option("--question", sweep.question, "what the scenario asks (from its file)");
  run->add_option("--expect", sweep.expect, "the shape it expects (from its file)");
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
  run->add_option("--requests-per-connection", sweep.requests_per_connection,
                  "each point sends connections x N requests and ends (Bendersky's clients)")
      ->check(CLI::NonNegativeNumber);
  run->add_flag("!--keepalive,!--no-keepalive", sweep.keep_alive, "a new connection per request");
  run->add_option("-d,--duration", run_duration, "measured time per point")
      ->capture_default_str()
      ->check(kDuration);
  run->add_option("--warmup", run_warmup, "unrecorded load before each point")
      ->capture_default_str()
      ->check(kDuration);
  run->add_option("--timeout", run_timeout, "per-request timeout")
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
  run->add_option("--host", sweep.host, "address the servers bind")->capture_default_str();
  run->add_option("--server-cpus", sweep.server_cpus, "CPUs for the server, e.g. 0 or 0,1")
      ->delimiter(',');
  run->add_option("--load-cpus", sweep.load_cpus, "CPUs for the load generator")->delimiter(',');
  run->add_flag("--no-pin", no_pin, "do not pin server and load generator to CPUs");
  run->add_flag("--no-plots", no_plots, "do not draw charts");
  run->add_option("--charts", sweep.charts_dir, "where charts go")->capture_default_str();
  run->add_option("-o,--out", sweep.out, "CSV path (default results/<scenario>-<UTC time>.csv)");
  run->add_flag("--resume", sweep.resume, "skip points already measured in --out");
  run->footer(
      "cmbench run [SCENARIO] [flags]: SCENARIO is scenarios/SCENARIO.toml "
      "(default why-multithreaded); flags override its fields.");
  // Set from `run SCENARIO` by main(); the file's [run] section fills the flags above.
  app.set_config("--scenario-file", "", "a scenario file")->group("");
  app.allow_config_extras(CLI::config_extras_mode::error);

  // `cmbench run [SCENARIO] [flags]`: the scenario's file becomes the
  // config file CLI11 reads; flags still override it.
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string command_line = "cmbench";
  for (const auto& arg : args) command_line += " " + arg;
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
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }

  try {
    if (app.got_subcommand("models")) return cmb::harness::models_command();
    if (app.got_subcommand("serve")) {
      server_config.limits.header_timeout = std::chrono::ceil<std::chrono::milliseconds>(
          cmb::loadgen::parse_duration(header_timeout_text));
      if (server_config.limits.header_timeout.count() <= 0) {
        fmt::print(stderr, "cmbench serve: --header-timeout must be positive\n");
        return kExitUsage;
      }
      return cmb::harness::serve_command(serve_model, server_config);
    }
    if (app.got_subcommand("load")) {
      try {
        for (const auto& text : url_texts)
          load_config.targets.push_back(cmb::loadgen::parse_target(text));
      } catch (const std::invalid_argument& e) {
        fmt::print(stderr, "cmbench load: {}\n", e.what());
        return kExitUsage;
      }
      load_config.duration = cmb::loadgen::parse_duration(duration_text);
      if (load_config.max_requests > 0 && load->count("--duration") == 0)
        load_config.duration = std::chrono::hours(24);  // --requests alone: until they are done
      load_config.warmup = cmb::loadgen::parse_duration(warmup_text);
      load_config.timeout = cmb::loadgen::parse_duration(timeout_text);
      load_config.think = cmb::loadgen::parse_duration(think_text);
      load_config.arrival = arrival_text == "poisson" ? cmb::loadgen::Arrival::kPoisson
                                                      : cmb::loadgen::Arrival::kUniform;
      load_config.keep_alive = !no_keepalive;
      return cmb::harness::load_command(load_config, load_outputs);
    }
    if (app.got_subcommand("compare")) {
      compare_options.threshold = threshold_percent / 100.0;
      compare_options.p99_threshold = p99_threshold_percent / 100.0;
      compare_options.format =
          compare_format == "json"       ? cmb::harness::CompareOptions::Format::kJson
          : compare_format == "markdown" ? cmb::harness::CompareOptions::Format::kMarkdown
                                         : cmb::harness::CompareOptions::Format::kText;
      return cmb::harness::compare_command(compare_base, compare_new, compare_options);
    }
    if (app.got_subcommand("merge-hist"))
      return cmb::harness::merge_hist_command(hist_inputs, hist_output);
    if (app.got_subcommand("run")) {
      if (sweep.models.empty()) sweep.models = {"iterative", "thread-per-connection"};
      if (sweep.workloads.empty()) sweep.workloads = {""};
      for (const auto& model : sweep.models) {
        // NAME or NAME:THREADS
        const size_t colon = model.find(':');
        const std::string name = model.substr(0, colon);
        const std::string threads = colon == std::string::npos ? "1" : model.substr(colon + 1);
        const auto known = cmb::servers::available_model_names();
        if (std::find(known.begin(), known.end(), name) == known.end() || threads.empty() ||
            threads.find_first_not_of("0123456789") != std::string::npos) {
          fmt::print(
              stderr,
              "cmbench run: unknown model '{}' (known: {}; NAME:THREADS sets its --threads)\n",
              model, fmt::join(known, ", "));
          return kExitUsage;
        }
      }
      sweep.duration = cmb::loadgen::parse_duration(run_duration);
      sweep.warmup = cmb::loadgen::parse_duration(run_warmup);
      sweep.timeout = cmb::loadgen::parse_duration(run_timeout);
      sweep.pin = !no_pin;
      sweep.plots = !no_plots;
      sweep.command_line = command_line;
      return cmb::harness::run_sweep(sweep);
    }
  } catch (const std::invalid_argument& e) {
    fmt::print(stderr, "cmbench: {}\n", e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    fmt::print(stderr, "cmbench: {}\n", e.what());
    return kExitFailure;
  }
  return kExitUsage;
}
