// `cmbench report`: flags for harness/analysis/html_report.hpp.
#include <CLI/CLI.hpp>
#include <memory>

#include "harness/analysis/html_report.hpp"
#include "harness/cli/subcommands.hpp"

namespace cmb::harness {

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
                    "a deck of 16:9 slides: each run's finding over its story chart, then a "
                    "slide per claim over its chart, verdict and figures in large type; arrow "
                    "keys and Page Down move between them");
  command->callback([o, exit_code] { *exit_code = report_command(o->csvs, o->out, o->slides); });
}

}  // namespace cmb::harness
