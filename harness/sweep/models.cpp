#include "harness/sweep/models.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "harness/base/exit_codes.hpp"
#include "net/uring.hpp"
#include "servers/external.hpp"
#include "servers/registry.hpp"

namespace cmb::harness {
namespace {

// A --binary label is read back through the model spec grammar (NAME@LABEL).
constexpr const char* kBadLabelCharacters = "@,:=+ ";

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// What may be swept: the registered models (one that cannot run here
// gives error rows saying why), and the externals.
std::vector<std::string> known_names(const SweepConfig& config) {
  std::vector<std::string> known;
  for (const auto& info : servers::registered_models()) known.emplace_back(info.name);
  for (const auto& external : config.externals) known.push_back(external.name);
  return known;
}

ModelSpec parse(const std::string& text) {
  try {
    return parse_model_spec(text);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
}

SweepModel resolve(const SweepConfig& config, const std::string& text,
                   const std::vector<std::string>& known) {
  SweepModel model;
  model.text = text;
  model.spec = parse(text);
  const ModelSpec& spec = model.spec;
  if (!contains(known, spec.name))
    throw UsageError(fmt::format("unknown model '{}' (known: {}; NAME:THREADS sets its --threads)",
                                 text, fmt::join(known, ", ")));
  const auto& setups = net::uring_setup_names();
  const bool has_ring = spec.name == kRingModel;
  if (!spec.setup.empty() && (!has_ring || !contains(setups, spec.setup)))
    throw UsageError(fmt::format("'{}': only {} takes +SETUP, one of {}", text, kRingModel,
                                 fmt::join(setups, ", ")));
  if (has_ring) model.uring_setup = spec.setup.empty() ? setups.front() : spec.setup;
  if (!spec.build.empty()) {
    const auto build = std::find_if(config.builds.begin(), config.builds.end(),
                                    [&](const Build& b) { return b.label == spec.build; });
    if (build == config.builds.end())
      throw UsageError(fmt::format("'{}': no --binary is labelled {}", text, spec.build));
    model.binary = build->path;
  }
  for (const auto& external : config.externals)
    if (external.name == spec.name) {
      model.external = true;
      model.workload = !config.static_externals;
      model.command = external.command;
      model.summary = "external: " + external.command;
      return model;
    }
  if (const auto info = servers::find_model(spec.name)) {
    model.external = info->external;
    model.workload = info->workload;
    model.unavailable = info->unavailable_reason;
    model.summary =
        std::string(info->summary) + (spec.setup.empty() ? "" : "; ring: " + spec.setup);
    // A ring set up otherwise is a line of its own colour.
    if (spec.setup.empty()) {
      model.colour = info->colour;
      model.marker = info->marker;
    }
  }
  return model;
}

}  // namespace

const SweepModel& SweepConfig::model(const std::string& text) const {
  for (const auto& model : resolved)
    if (model.text == text) return model;
  throw std::out_of_range(fmt::format("'{}' is not a model of this sweep", text));
}

void add_external(SweepConfig& config, const std::string& given) {
  const size_t equals = given.find('=');
  const std::string name = given.substr(0, equals);
  std::string problem;
  if (equals == std::string::npos || equals + 1 == given.size()) {
    problem = "give NAME=COMMAND";
  } else if (const std::string bad = servers::model_name_problem(name); !bad.empty()) {
    problem = bad;
  } else if (servers::find_model(name) || contains(known_names(config), name)) {
    problem = fmt::format("{} is a model already", name);
  } else {
    try {
      (void)servers::split_command_line(given.substr(equals + 1));
    } catch (const std::invalid_argument& e) {
      problem = e.what();
    }
  }
  if (!problem.empty()) throw UsageError(fmt::format("--external {}: {}", given, problem));
  config.externals.push_back({name, given.substr(equals + 1)});
}

void add_build(SweepConfig& config, const std::string& given, size_t index) {
  const size_t equals = given.find('=');
  Build build{equals == std::string::npos ? std::string(1, static_cast<char>('A' + index % 26))
                                          : given.substr(0, equals),
              equals == std::string::npos ? given : given.substr(equals + 1)};
  std::string problem;
  if (build.label.empty() || build.label.find_first_of(kBadLabelCharacters) != std::string::npos)
    problem = "a label must be non-empty, without '@', ',', ':', '=', '+' or spaces";
  else if (::access(build.path.c_str(), X_OK) != 0)
    problem = fmt::format("{} is not an executable file", build.path);
  for (const auto& other : config.builds)
    if (other.label == build.label) problem = fmt::format("label {} given twice", build.label);
  if (!problem.empty()) throw UsageError(fmt::format("--binary {}: {}", given, problem));
  build.path = std::filesystem::absolute(build.path).string();
  config.builds.push_back(build);
}

void resolve_sweep(SweepConfig& config) {
  if (config.models.empty()) throw UsageError("no models to run");
  // The builds are files here; a server over ssh runs that host's one cmbench.
  if (!config.builds.empty() && config.server_host.kind == HostSpec::Kind::kSsh)
    throw UsageError(fmt::format(
        "--binary runs builds from this machine's disk, but --server-host {} runs the one "
        "cmbench there: compare builds with a local or netns: server",
        config.server_host.text()));
  const std::vector<std::string> known = known_names(config);
  std::vector<std::string> labelled;
  for (const auto& text : config.models) {
    // Once per build, unless it names its build already.
    ModelSpec spec = parse(text);
    if (config.builds.empty() || !spec.build.empty()) {
      labelled.push_back(text);
      continue;
    }
    for (const auto& build : config.builds) {
      spec.build = build.label;
      labelled.push_back(spec.text());
    }
  }
  std::vector<SweepModel> resolved;
  for (const auto& text : labelled) resolved.push_back(resolve(config, text, known));
  config.models = labelled;
  config.resolved = resolved;
}

}  // namespace cmb::harness
