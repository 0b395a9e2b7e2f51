// `cmbench metrics`: the metrics table (harness/results/metrics.hpp), the
// names --metric, --metrics and a claim take. With --json, the table as the
// chart script reads it (plots/metrics.json is this output, checked by
// tests/plots/test_plot_results.py).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <CLI/CLI.hpp>
#include <algorithm>

#include "harness/base/exit_codes.hpp"
#include "harness/base/json.hpp"
#include "harness/cli/subcommands.hpp"
#include "harness/results/metrics.hpp"
#include "harness/results/schema.hpp"
#include "servers/stages/stages.hpp"

namespace cmb::harness {
namespace {

const char* better_name(Better better) {
  switch (better) {
    case Better::kHigher:
      return "higher";
    case Better::kLower:
      return "lower";
    case Better::kNeither:
      break;
  }
  return "";
}

std::string metrics_json() {
  Json list = Json::array();
  for (const auto& metric : metrics())
    list.push_back({{"name", metric.name},
                    {"columns", metric.columns},
                    {"unit", metric.unit},
                    {"display_unit", metric.display_unit()},
                    {"better", better_name(metric.better)}});
  // What the charts would otherwise keep lists of: the server's stages in
  // order, and the CSV's columns that hold text.
  Json stages = Json::array();
  for (const std::string_view stage : servers::kStageNames) stages.push_back(stage);
  Json text = Json::array();
  for (const std::string_view column : csv_text_columns()) text.push_back(column);
  return Json{{"metrics", list}, {"stages", stages}, {"text_columns", text}}.dump(2, ' ', false) +
         "\n";
}

void print_table() {
  size_t name_width = 0;
  size_t unit_width = 0;
  for (const auto& metric : metrics()) {
    name_width = std::max(name_width, metric.name.size());
    unit_width = std::max(unit_width, metric.display_unit().size());
  }
  for (const auto& metric : metrics()) {
    const std::string better = better_name(metric.better);
    fmt::print("{:<{}}  {:<{}}  {:<6}  {}\n", metric.name, name_width, metric.display_unit(),
               unit_width, better.empty() ? "-" : better,
               metric.columns.empty() ? "(the summary's)"
                                      : fmt::format("{}", fmt::join(metric.columns, "+")));
  }
}

}  // namespace

void add_metrics(CLI::App& app, const ExitCode& exit_code) {
  auto* command = app.add_subcommand(
      "metrics", "list the figures compare, export and claims judge: name, unit, better, columns");
  auto json = std::make_shared<bool>(false);
  command->add_flag("--json", *json, "the table as JSON (what the chart script reads)");
  command->callback([exit_code, json] {
    if (*json)
      fmt::print("{}", metrics_json());
    else
      print_table();
    *exit_code = kExitOk;
  });
}

}  // namespace cmb::harness
