// The list of concurrency models. Only registry.cpp names concrete models:
// adding one is a new file plus one line there.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "servers/server.hpp"

namespace cmb::servers {

struct ModelInfo {
  std::string_view name;
  std::string_view summary;  // one line for `cmbench models`
  // Serves many connections at once (false: one after another).
  bool concurrent = true;
  // wait_us arms a timer instead of blocking a thread, so one thread
  // overlaps any number of waits (event-driven models).
  bool timer_waits = false;
  // Its fixed colour in every chart ("#rrggbb"), so a model is recognisable
  // from slide to slide; the manifest carries it to the plot script.
  std::string_view colour;
  // Empty when the model works here; otherwise why not (kernel, build).
  std::string unavailable_reason;
  // A server that is not ours (nginx): it serves only the hello workload
  // (the query is ignored), keeps none of our counters, and has limits of
  // its own, so the suites that check those skip it and the harness leaves
  // the server_* counter columns blank.
  bool external = false;
};

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
