// cmbench's main: sets the process up (signals, descriptors), registers
// the extra models and every subcommand (harness/cli/subcommands.hpp),
// turns `run SCENARIO` into the scenario's file, and maps what escapes to
// an exit code.
#include "harness/cli/entry.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "harness/base/build_info.hpp"
#include "harness/base/exit_codes.hpp"
#include "harness/base/files.hpp"
#include "harness/base/words.hpp"
#include "harness/cli/man_page.hpp"
#include "harness/cli/subcommands.hpp"

namespace {

// Linux's default fs.nr_open: the most a process may be allowed.
constexpr rlim_t kMostDescriptors = 1 << 20;

// What `cmbench` alone prints: where to start. `--help` lists the rest.
std::string short_usage() {
  return "cmbench: how a TCP server's concurrency model decides its throughput, latency and\n"
         "resource use\n"
         "\n"
         "  cmbench run                the demo: why-multithreaded, as scripts/demo runs it\n"
         "  cmbench run SCENARIO       another scenario (scenarios/, docs/scenarios.md)\n"
         "  cmbench models             the concurrency models it can serve\n"
         "  cmbench load URL -c N -d T a load generator, as wrk (-R RATE: as wrk2)\n"
         "  cmbench verify --model M   whether a server answers as it must (--url, --external)\n"
         "  cmbench --help             every subcommand; cmbench SUBCOMMAND --help; man cmbench\n";
}

// "unknown command 'rnu' (did you mean run?)..." when `word` would be taken
// for a subcommand and is none; "" otherwise (CLI11 alone says only "A
// subcommand is required").
std::string unknown_command(const CLI::App& app, const std::string& word) {
  if (word.empty() || word[0] == '-') return "";
  std::vector<std::string> names;  // those --help lists, to suggest
  for (const CLI::App* command : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (command->get_name() == word) return "";
    if (!command->get_group().empty()) names.push_back(command->get_name());
  }
  return fmt::format("unknown command '{}'{}; `cmbench --help` lists them", word,
                     cmb::harness::did_you_mean(word, names));
}

// A peer that resets mid-write must be an error code, not a dead process.
// Thousands of connections need thousands of descriptors: take the hard
// limit (the soft default is often 1024), and as root raise the hard limit
// itself to the kernel's per-process maximum (fs.nr_open), for 100 000
// connections. Servers children inherit it.
void set_up_process() {
  ::signal(SIGPIPE, SIG_IGN);
  if (rlimit limit{}; ::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    const rlimit most{kMostDescriptors, kMostDescriptors};
    if (limit.rlim_max >= kMostDescriptors || ::setrlimit(RLIMIT_NOFILE, &most) != 0) {
      limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, kMostDescriptors);
      ::setrlimit(RLIMIT_NOFILE, &limit);
    }
  }
}

// Every subcommand, `run`'s filling `sweep`; --version; and the scenario
// file `run SCENARIO` names, read as CLI11's config file.
void add_commands(CLI::App& app, const cmb::harness::ExitCode& exit_code,
                  cmb::harness::SweepConfig& sweep) {
  using namespace cmb::harness;
  app.require_subcommand(1);
  app.set_version_flag("--version", [] {
    std::string text = version_text(build_info());
    if (!text.empty() && text.back() == '\n') text.pop_back();  // CLI11 adds one
    return text;
  });
  add_models(app, exit_code);
  add_metrics(app, exit_code);
  add_serve(app, exit_code);
  add_load(app, exit_code);
  add_merge_hist(app, exit_code);
  add_compare(app, exit_code);
  add_export(app, exit_code);
  add_report(app, exit_code);
  add_run(app, exit_code, sweep);
  add_lab(app, exit_code);
  add_verify(app, exit_code);
  add_clock(app, exit_code);
  // Set from `run SCENARIO` below; the file's [run] section fills run's flags.
  app.set_config("--scenario-file", "", "a scenario file")->group("");
  app.allow_config_extras(CLI::config_extras_mode::error);
}

// `cmbench run [SCENARIO] [flags]`: the scenario's file becomes the config
// file CLI11 reads; flags still override it. False when SCENARIO is none.
bool name_scenario(std::vector<std::string>& args, cmb::harness::SweepConfig& sweep) {
  using namespace cmb::harness;
  if (args.empty() || args[0] != "run") return true;
  const bool named = args.size() > 1 && args[1].rfind("-", 0) != 0;
  const std::string name = named ? args[1] : "why-multithreaded";
  sweep.replaced = scenario_fields_given(args);
  // Without a name, the demo's file still gives the run's settings, but a
  // flag that changes what it measures makes the sweep the user's own
  // (run's callback drops the demo's claims).
  const bool own = !named && changes_what_is_measured(sweep.replaced);
  try {
    const std::string file = find_scenario(name);
    if (named) args.erase(args.begin() + 1);
    args.insert(args.begin(), {"--scenario-file", file});
    if (!own) sweep.scenario = std::filesystem::path(name).stem().string();
  } catch (const std::invalid_argument& e) {
    if (named) {
      fmt::print(stderr, "cmbench run: {}\n", e.what());
      return false;
    }
  }
  return true;
}

// Runs the chosen subcommand's callback; what escapes it as an exit code.
int parse_and_run(CLI::App& app, std::vector<std::string> args,
                  const cmb::harness::ExitCode& exit_code) {
  using namespace cmb::harness;
  try {
    std::reverse(args.begin(), args.end());  // CLI11 takes a vector in reverse order
    app.parse(args);                         // runs the chosen subcommand's callback
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  } catch (const std::invalid_argument& e) {  // UsageError, and a bad value found later
    // "cmbench lab up: ...": the subcommands chosen, to the deepest.
    std::string chosen;
    for (const CLI::App* sub = &app; !sub->get_subcommands().empty();) {
      sub = sub->get_subcommands().front();
      chosen += " " + sub->get_name();
    }
    fmt::print(stderr, "cmbench{}: {}\n", chosen, e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    fmt::print(stderr, "cmbench: {}\n", e.what());
    return kExitFailure;
  }
  return *exit_code;  // the subcommand's callback set it
}

}  // namespace

int cmb::run_main(int argc, char** argv, const std::vector<servers::ModelEntry>& extra_models,
                  const std::string& data_dir) {
  using namespace cmb::harness;
  if (!data_dir.empty()) set_data_dir(data_dir);
  try {
    servers::add_models(extra_models);
  } catch (const std::exception& e) {
    fmt::print(stderr, "cmbench: {}\n", e.what());
    return kExitUsage;
  }
  set_up_process();
  CLI::App app{
      "cmbench: how a TCP server's concurrency model decides its throughput, latency "
      "and resource use",
      "cmbench"};
  const auto exit_code = std::make_shared<int>(kExitOk);
  SweepConfig sweep;
  add_commands(app, exit_code, sweep);

  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {  // where to start, rather than CLI11's "A subcommand is required"
    fmt::print("{}", short_usage());
    return kExitUsage;
  }
  if (args == std::vector<std::string>{"--man"}) {  // for the build: cmbench.1
    fmt::print("{}", man_page(app, build_info().version));
    return kExitOk;
  }
  if (const std::string unknown = unknown_command(app, args[0]); !unknown.empty()) {
    fmt::print(stderr, "cmbench: {}\n", unknown);
    return kExitUsage;
  }
  sweep.command_line = "cmbench";
  for (const auto& arg : args) sweep.command_line += " " + arg;
  if (!name_scenario(args, sweep)) return kExitUsage;
  return parse_and_run(app, std::move(args), exit_code);
}
