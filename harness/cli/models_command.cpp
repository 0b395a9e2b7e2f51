// `cmbench models`: the models that run here, one line each.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>

#include "harness/base/exit_codes.hpp"
#include "harness/cli/subcommands.hpp"
#include "servers/registry.hpp"

namespace cmb::harness {
namespace {

int models_command() {
  size_t width = 0;
  for (const auto& model : servers::registered_models()) width = std::max(width, model.name.size());
  for (const auto& model : servers::registered_models()) {
    if (model.unavailable_reason.empty())
      fmt::print("{:<{}}  {}\n", model.name, width, model.summary);
  }
  for (const auto& model : servers::registered_models()) {
    if (!model.unavailable_reason.empty())
      fmt::print(stderr, "(not available here: {}: {})\n", model.name, model.unavailable_reason);
  }
  return kExitOk;
}

}  // namespace

void add_models(CLI::App& app, const ExitCode& exit_code) {
  app.add_subcommand("models", "list the concurrency models that run here")->callback([exit_code] {
    *exit_code = models_command();
  });
}

}  // namespace cmb::harness
