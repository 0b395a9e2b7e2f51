// `cmbench compare`: flags for harness/analysis/compare.hpp.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <CLI/CLI.hpp>
#include <memory>

#include "harness/analysis/compare.hpp"
#include "harness/cli/subcommands.hpp"
#include "harness/results/metrics.hpp"

namespace cmb::harness {

void add_compare(CLI::App& app, const ExitCode& exit_code) {
  auto* compare = app.add_subcommand("compare",
                                     "is NEW (or build B) worse than BASE (or build A) beyond "
                                     "noise, or missing a point? (exit 1 if so)");
  struct Options {
    std::string base, fresh, format = "text";
    CompareOptions compare;
    // Shown by --help and the man page: CompareOptions' own defaults.
    double threshold_percent = CompareOptions{}.threshold * 100;
    double p99_threshold_percent = CompareOptions{}.p99_threshold * 100;
  };
  auto o = std::make_shared<Options>();
  compare->add_option("base", o->base, "the baseline results CSV")->required();
  compare->add_option("new", o->fresh,
                      "the results CSV to judge; without it, BASE is a same-runner A/B (`run "
                      "--binary A --binary B`) and build A is the base");
  compare
      ->add_option("--metrics", o->compare.metrics,
                   fmt::format("what to judge: {} (cpu: the server's CPU µs per request; "
                               "syscalls: per request, from run --syscalls)",
                               fmt::join(judged_metric_names(), ", ")))
      ->delimiter(',')
      ->capture_default_str()
      ->check(CLI::IsMember(judged_metric_names()));
  compare
      ->add_option("--threshold", o->threshold_percent,
                   "the change, in %, that counts for every metric but p99 and p999")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  compare
      ->add_option("--p99-threshold", o->p99_threshold_percent,
                   "change in p99 and p999, in %, that counts")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  compare
      ->add_option("--alpha", o->compare.alpha,
                   "a move counts when the change's 1 - ALPHA bootstrap interval excludes 0")
      ->capture_default_str()
      ->check(CLI::Range(0.0001, 0.5));
  compare->add_flag("--allow-missing", o->compare.allow_missing,
                    "points of BASE that NEW lacks are listed, not a regression (a failed point "
                    "still is)");
  compare->add_option("--normalize-by", o->compare.normalize_by,
                      "divide by this model's figures from the same run (machine-independent)");
  compare->add_option("--format", o->format, "text, markdown or json")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "markdown", "json"}));
  compare->callback([o, exit_code] {
    using Format = CompareOptions::Format;
    o->compare.threshold = o->threshold_percent / 100.0;
    o->compare.p99_threshold = o->p99_threshold_percent / 100.0;
    o->compare.format = o->format == "json"       ? Format::kJson
                        : o->format == "markdown" ? Format::kMarkdown
                                                  : Format::kText;
    *exit_code = compare_command(o->base, o->fresh, o->compare);
  });
}

}  // namespace cmb::harness
