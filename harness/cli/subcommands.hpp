// The `cmbench` subcommands, one file each. Each registers itself with its
// flags, their conversion and its action together (a CLI11 callback), and
// leaves the process exit code in *exit_code (harness/base/exit_codes.hpp).
// main.cpp only calls these, in the order `--help` lists them.
#pragma once

#include <CLI/CLI.hpp>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "harness/sweep/config.hpp"
#include "loadgen/load.hpp"

namespace cmb::harness {

// Where a subcommand's action leaves the process exit code.
using ExitCode = std::shared_ptr<int>;

void add_models(CLI::App& app, const ExitCode& exit_code);
void add_metrics(CLI::App& app, const ExitCode& exit_code);
void add_serve(CLI::App& app, const ExitCode& exit_code);
void add_load(CLI::App& app, const ExitCode& exit_code);
void add_merge_hist(CLI::App& app, const ExitCode& exit_code);
void add_compare(CLI::App& app, const ExitCode& exit_code);
void add_export(CLI::App& app, const ExitCode& exit_code);
void add_report(CLI::App& app, const ExitCode& exit_code);
// `run` also reads a scenario file's [run] section into `sweep` (main.cpp).
void add_run(CLI::App& app, const ExitCode& exit_code, SweepConfig& sweep);
// Which of `run`'s flags that replace a scenario file's fields args gives
// ("--models", "--claims", ...), for SweepConfig::replaced.
std::vector<std::string> scenario_fields_given(const std::vector<std::string>& args);
// Whether any of those flags changes what the sweep measures (not only the
// claims or their prose).
bool changes_what_is_measured(const std::vector<std::string>& fields);
void add_lab(CLI::App& app, const ExitCode& exit_code);
void add_verify(CLI::App& app, const ExitCode& exit_code);
void add_clock(CLI::App& app, const ExitCode& exit_code);

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
const CLI::Validator& duration_check();

// `load`'s flags registered on `load`, and the configuration they make
// (throws UsageError): what `cmbench load` and an agent started with
// harness/hosts/agents.hpp's agent_arguments() both run.
struct LoadFlags;
std::shared_ptr<LoadFlags> add_load_flags(CLI::App& load);
loadgen::LoadConfig load_config(const LoadFlags& flags);

// `cmbench load --json`: one object (docs/commands.md lists its keys).
std::string load_json(const loadgen::LoadConfig& config, const loadgen::LoadResult& result);

}  // namespace cmb::harness
