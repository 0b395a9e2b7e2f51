// Tests parameterised over the registry: which models a suite runs over,
// and their names ("thread-per-connection" becomes "thread_per_connection":
// GoogleTest names allow no '-').
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "servers/registry.hpp"

namespace cmb::testing {

// The models that run here and that `applies` accepts. A test that cannot
// apply to a model (nginx has none of our workload, counters or statuses;
// the iterative server serves one connection at a time) is not made for
// it, so that a skipped test means only that this machine lacks something.
inline std::vector<std::string> models_where(bool (*applies)(const servers::ModelInfo&)) {
  std::vector<std::string> names;
  for (const auto& name : servers::available_model_names())
    if (applies(*servers::find_model(name))) names.push_back(name);
  return names;
}

// Ours, not a reference server: it has the workload's query string, the
// counters, the stages, cmbench's limits and their statuses.
inline bool own_model(const servers::ModelInfo& model) { return !model.external; }

inline std::string model_test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  for (char& c : name)
    if (c == '-') c = '_';
  return name;
}

}  // namespace cmb::testing
