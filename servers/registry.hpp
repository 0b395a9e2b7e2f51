// The list of concurrency models. Only registry.cpp names the shipped
// models: adding one is a new file plus one line there. A model built
// outside the tree (examples/out-of-tree-model, with the installed CMake
// package) joins them through cmb::main's list (harness/cli/entry.hpp),
// which calls add_models before anything reads the list.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "servers/server.hpp"

namespace cmb::servers {

// How a model is told apart from another of its colour: the marker on its
// lines, and on its bars a hatch (none, lines, dots).
inline constexpr std::array<std::string_view, 3> kMarkers = {"circle", "square", "triangle"};

struct ModelInfo {
  std::string_view name;
  std::string_view summary;  // one line for `cmbench models`
  // Serves many connections at once (false: one after another).
  bool concurrent = true;
  // wait_us arms a timer instead of blocking a thread, so one thread
  // overlaps any number of waits (event-driven models).
  bool timer_waits = false;
  // Its fixed colour in every chart ("#rrggbb", from the Okabe-Ito palette
  // and grey, which stay distinct for colour-blind viewers) and its marker
  // (kMarkers: the same colour again, told apart), so a model is
  // recognisable from slide to slide; the manifest carries both to the
  // plot script.
  std::string_view colour;
  std::string_view marker = "circle";
  // Empty when the model works here; otherwise why not (kernel, build).
  std::string unavailable_reason;
  // A server that is not ours (nginx, the runtimes' servers): it keeps
  // none of our counters or stages, so the suites that check those skip it
  // and the harness leaves those columns blank.
  bool external = false;
  // It serves cmbench's workload (the query string picks the work); false
  // for nginx, which answers hello whatever the query.
  bool workload = true;
};

// How a model is registered: its line in registry.cpp, or a user's.
struct ModelEntry {
  std::string_view name;
  std::string_view summary;            // one line for `cmbench models`
  std::string_view colour;             // "#rrggbb" (ModelInfo::colour)
  std::string_view marker = "circle";  // ModelInfo::marker
  std::unique_ptr<Server> (*factory)(const ServerConfig&) = nullptr;
  bool concurrent = true;    // ModelInfo::concurrent
  bool timer_waits = false;  // ModelInfo::timer_waits
  // Empty when the model can run here, else why not; none: it always can.
  std::string (*probe)() = nullptr;
  bool external = false;  // ModelInfo::external
  bool workload = true;   // ModelInfo::workload
};

// A model's name, shipped, added or given to --external, names files and
// CSV cells and is read back through the model spec grammar
// (NAME+SETUP:THREADS@BUILD): it is lower-case letters, digits and '-'.
// Empty when `name` keeps that rule, else what is wrong, for a message.
std::string model_name_problem(std::string_view name);

// Adds models after the shipped ones, in order, all or none. Throws
// std::invalid_argument for a name already registered, a name that breaks
// model_name_problem's rule, or no factory; and
// std::logic_error when the list has already been read (registered_models(),
// find_model, make_server): the list a run starts with is the one it keeps.
void add_models(const std::vector<ModelEntry>& extra);

// The registered model of that name, available or not; std::nullopt if none.
std::optional<ModelInfo> find_model(std::string_view name);

// Every registered model, in presentation order, available or not. The
// probes run once per process (io-uring's sets up a ring).
const std::vector<ModelInfo>& registered_models();

// The names of the models that work on this machine.
std::vector<std::string> available_model_names();

// A bound server of the named model. Throws std::invalid_argument for an
// unknown or unavailable model (saying which exist or why), and
// std::system_error when binding fails.
std::unique_ptr<Server> make_server(std::string_view model, const ServerConfig& config);

}  // namespace cmb::servers
