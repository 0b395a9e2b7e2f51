// `cmbench verify`: the checks a server must pass before its numbers mean
// anything (harness/verify/checks.hpp), against a model, an external
// server's command or a URL; one line per check, exit 0 only when none
// failed.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <memory>
#include <optional>

#include "harness/base/exit_codes.hpp"
#include "harness/cli/subcommands.hpp"
#include "harness/sweep/models.hpp"
#include "harness/sweep/server_process.hpp"
#include "harness/verify/checks.hpp"
#include "loadgen/url.hpp"
#include "net/socket.hpp"
#include "servers/registry.hpp"

namespace cmb::harness {
namespace {

struct VerifyOptions {
  std::string model;
  std::string external;
  std::string url;
  bool static_server = false;
  bool one_at_a_time = false;
};

// "measurement: P passed, F failed, S skipped; hardening: ..."; returns how
// many failed in all.
size_t print_counts(const std::vector<CheckResult>& results) {
  const auto count = [&](CheckGroup in, CheckOutcome outcome) {
    return std::count_if(results.begin(), results.end(), [&](const CheckResult& result) {
      return result.group == in && result.outcome == outcome;
    });
  };
  size_t failed = 0;
  for (const CheckGroup in : {CheckGroup::kMeasurement, CheckGroup::kHardening}) {
    failed += static_cast<size_t>(count(in, CheckOutcome::kFail));
    fmt::print("{}{}: {} passed, {} failed, {} skipped", in == CheckGroup::kHardening ? "; " : "",
               group_name(in), count(in, CheckOutcome::kPass), count(in, CheckOutcome::kFail),
               count(in, CheckOutcome::kSkip));
  }
  fmt::print("\n");
  return failed;
}

// `--model`: the model's server, checked only for what the model claims
// (a workload, concurrency).
std::string start_model(const std::string& model, VerifyTarget& target,
                        std::optional<ServerProcess>& server) {
  const auto info = servers::find_model(model);
  if (!info) throw UsageError(fmt::format("unknown model '{}' (cmbench models lists them)", model));
  if (!info->unavailable_reason.empty())
    throw UsageError(fmt::format("{} is not available here: {}", model, info->unavailable_reason));
  const VerifyTarget claimed = model_target(*info, 0);
  target.workload = target.workload && claimed.workload;
  target.concurrent = target.concurrent && claimed.concurrent;
  ServerProcess::Options options;
  options.model = model;
  server.emplace(options);
  return "model " + model;
}

// `--external NAME=COMMAND`, checked as run checks it.
std::string start_external(const std::string& given, std::optional<ServerProcess>& server) {
  SweepConfig parsed;
  add_external(parsed, given);
  ServerProcess::Options options;
  options.model = parsed.externals.front().name;
  options.command = parsed.externals.front().command;
  server.emplace(options);
  return "external server " + options.model;
}

// `--url`: a server already running; nothing there is one sentence, not a
// failure for every check.
std::string reach_url(const std::string& given, VerifyTarget& target) {
  const loadgen::Url url = loadgen::parse_url(given);
  target.host = url.host;
  target.port = url.port;
  if (const std::string why = net::connect_problem(net::resolve(url.host, url.port)); !why.empty())
    throw UsageError(fmt::format("cannot connect to {}:{}: {}", url.host, url.port, why));
  return url.to_string();
}

// Each check's line as it ends, under its group's heading.
std::vector<CheckResult> run_and_print(const VerifyTarget& target) {
  std::optional<CheckGroup> group;
  return run_checks(target, [&group](const CheckResult& result) {
    if (result.group != group)
      fmt::print("{}\n", result.group == CheckGroup::kMeasurement
                             ? "what a measurement needs:"
                             : "hardening (bad input; run reports these, and measures anyway):");
    group = result.group;
    fmt::print("  {:<17} {}  {}\n", result.name, outcome_text(result.outcome), result.seen);
    std::fflush(stdout);
  });
}

int verify_command(const VerifyOptions& o) {
  const int given = !o.model.empty() + !o.external.empty() + !o.url.empty();
  if (given != 1) throw UsageError("give one of --model, --external or --url");
  VerifyTarget target;
  target.workload = !o.static_server;
  target.concurrent = !o.one_at_a_time;
  std::optional<ServerProcess> server;
  const std::string what = !o.model.empty()      ? start_model(o.model, target, server)
                           : !o.external.empty() ? start_external(o.external, server)
                                                 : reach_url(o.url, target);
  if (server) target.port = server->port();
  fmt::print("cmbench verify: {} at {}:{}\n", what, target.host, target.port);
  const auto results = run_and_print(target);
  if (server) {
    if (const std::string ended = server->poll_exit(); !ended.empty()) {
      fmt::print("the server ended during the checks: {}\n", ended);
      return kExitFailure;
    }
    server->stop();
  }
  return print_counts(results) == 0 ? kExitOk : kExitFailure;
}

}  // namespace

void add_verify(CLI::App& app, const ExitCode& exit_code) {
  auto o = std::make_shared<VerifyOptions>();
  CLI::App* verify = app.add_subcommand("verify",
                                        "does a server answer the workload as it must before its "
                                        "numbers mean anything? (exit 1 if not)");
  verify->add_option("--model", o->model, "start this model (cmbench models) and check it");
  verify->add_option(
      "--external", o->external,
      "NAME=COMMAND: start a server of your own as run --external does, and check it");
  verify->add_option("--url", o->url, "check the server already listening at http://HOST:PORT/");
  verify->add_flag("--static", o->static_server,
                   "it serves only a hello: skip the checks of cmbench's workload and limits");
  verify->add_flag("--one-at-a-time", o->one_at_a_time,
                   "it serves one connection at a time: skip the checks that need concurrency");
  std::string checks = "The checks, in order (exit 1 when any fails):";
  for (const auto& check : verify_checks())
    checks += fmt::format("\n  {:<17} {:<12} {}", check.name, group_name(check.group), check.what);
  verify->footer(checks);
  verify->callback([o, exit_code] { *exit_code = verify_command(*o); });
}

}  // namespace cmb::harness
