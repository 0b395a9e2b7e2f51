// cmbench: the one executable. Parses the command line (CLI11) and hands
// each subcommand to harness/commands.hpp or harness/runner.hpp.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <sstream>

#include "harness/commands.hpp"
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

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, separator);) parts.push_back(part);
  if (!text.empty() && text.back() == separator) parts.emplace_back();
  return parts;
}

}  // namespace

int main(int argc, char** argv) {
  // A peer that resets mid-write must be an error code, not a dead process.
  ::signal(SIGPIPE, SIG_IGN);

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

  auto* run = app.add_subcommand("run", "sweep models x connections x workloads into CSV");
  cmb::harness::SweepConfig sweep;
  std::string models_text = "iterative,thread-per-connection";
  std::string connections_text = "1,4,16";
  std::string workloads_text = "sleep_us=10000";
  std::string cpus_server, cpus_load;
  std::string run_duration = "5s", run_warmup = "1s", run_timeout = "2s";
  bool no_pin = false, no_plots = false;
  run->add_option("--models", models_text, "comma-separated model names")->capture_default_str();
  run->add_option("--connections", connections_text, "comma-separated connection counts")
      ->capture_default_str();
  run->add_option("--workload", workloads_text,
                  "query strings separated by ';' (\"\" for the hello response)")
      ->capture_default_str();
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
  run->add_option("--host", sweep.host, "address the servers bind")->capture_default_str();
  run->add_option("--server-cpus", cpus_server, "CPUs for the server, e.g. 0 or 0,1");
  run->add_option("--load-cpus", cpus_load, "CPUs for the load generator");
  run->add_flag("--no-pin", no_pin, "do not pin server and load generator to CPUs");
  run->add_flag("--no-plots", no_plots, "do not draw charts");
  run->add_option("--charts", sweep.charts_dir, "where charts go")->capture_default_str();
  run->add_option("-o,--out", sweep.out, "CSV path (default results/run-<UTC time>.csv)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }

  try {
    if (app.got_subcommand("models")) return cmb::harness::models_command();
    if (app.got_subcommand("serve")) return cmb::harness::serve_command(serve_model, server_config);
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
    if (app.got_subcommand("merge-hist"))
      return cmb::harness::merge_hist_command(hist_inputs, hist_output);
    if (app.got_subcommand("run")) {
      sweep.models = split(models_text, ',');
      sweep.workloads = split(workloads_text, ';');
      if (sweep.workloads.empty()) sweep.workloads = {""};  // --workload "": the hello response
      for (const auto& model : sweep.models) {
        const auto known = cmb::servers::available_model_names();
        if (std::find(known.begin(), known.end(), model) == known.end()) {
          fmt::print(stderr, "cmbench run: unknown model '{}' (known: {})\n", model,
                     fmt::join(known, ", "));
          return kExitUsage;
        }
      }
      try {
        sweep.connections.clear();
        for (const auto& count : split(connections_text, ',')) {
          const int n = std::stoi(count);
          if (n < 1) throw std::invalid_argument(count);
          sweep.connections.push_back(n);
        }
        for (const auto& cpu : split(cpus_server, ',')) sweep.server_cpus.push_back(std::stoi(cpu));
        for (const auto& cpu : split(cpus_load, ',')) sweep.load_cpus.push_back(std::stoi(cpu));
      } catch (const std::exception&) {
        fmt::print(stderr,
                   "cmbench run: --connections and --*-cpus take comma-separated numbers\n");
        return kExitUsage;
      }
      sweep.duration = cmb::loadgen::parse_duration(run_duration);
      sweep.warmup = cmb::loadgen::parse_duration(run_warmup);
      sweep.timeout = cmb::loadgen::parse_duration(run_timeout);
      sweep.pin = !no_pin;
      sweep.plots = !no_plots;
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
