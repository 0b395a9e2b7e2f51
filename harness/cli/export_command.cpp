// `cmbench export`: flags for harness/analysis/export.hpp.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <CLI/CLI.hpp>
#include <memory>

#include "harness/analysis/export.hpp"
#include "harness/cli/subcommands.hpp"

namespace cmb::harness {

void add_export(CLI::App& app, const ExitCode& exit_code) {
  auto* command = app.add_subcommand(
      "export", "a results CSV as JSON for CI dashboards (github-action-benchmark, Bencher)");
  struct Options {
    std::string csv, format;
    ExportOptions exports;
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
                   fmt::format("what to export, from {}", fmt::join(export_metric_names(), ",")))
      ->delimiter(',')
      ->capture_default_str();
  command->add_option("-o,--out", o->exports.out,
                      "bmf: the file (default: stdout); github-action-benchmark: a prefix for "
                      "PREFIX-bigger.json and PREFIX-smaller.json (required)");
  command->callback([o, exit_code] {
    using Format = ExportOptions::Format;
    o->exports.format = o->format == "bmf" ? Format::kBmf : Format::kGithubActionBenchmark;
    *exit_code = export_command(o->csv, o->exports);
  });
}

}  // namespace cmb::harness
