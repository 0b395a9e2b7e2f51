// The list of concurrency models. Only registry.cpp names concrete models:
// adding one is a new file plus one line there.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "servers/server.hpp"

namespace cmb::servers {

struct ModelInfo {
  std::string_view name;
  std::string_view summary;  // one line for `cmbench models`
  // Empty when the model works here; otherwise why not (kernel, build).
  std::string unavailable_reason;
};

// Every registered model, in presentation order, available or not.
std::vector<ModelInfo> registered_models();

// The names of the models that work on this machine.
std::vector<std::string> available_model_names();

// A bound server of the named model. Throws std::invalid_argument for an
// unknown or unavailable model (saying which exist or why), and
// std::system_error when binding fails.
std::unique_ptr<Server> make_server(std::string_view model, const ServerConfig& config);

}  // namespace cmb::servers
