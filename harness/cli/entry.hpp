// cmbench's whole program as a function, so that a build of cmbench with
// models of its own (examples/out-of-tree-model, through the installed
// CMake package's cmbench_add_executable) is one line of main:
//
//   int main(int argc, char** argv) { return cmb::main(argc, argv, {my_model}); }
//
// The extra models come after the shipped ones in `cmbench models` and
// serve, sweep, chart and verify as they do; the shipped ones are named in
// servers/registry.cpp only.
#pragma once

#include <string>
#include <vector>

#include "servers/registry.hpp"

namespace cmb {

// Runs cmbench with argv; returns its exit code (harness/base/exit_codes.hpp).
// A run's servers are this same program's `serve`, so they know the extra
// models too. `data_dir`: where the scenarios and chart scripts are
// (harness/base/files.hpp); empty: found as cmbench finds them.
int run_main(int argc, char** argv, const std::vector<servers::ModelEntry>& extra_models,
             const std::string& data_dir);

// The same, with the installed package's share/cmbench when built by
// cmbench_add_executable (which defines CMBENCH_DATA_DIR).
inline int main(int argc, char** argv, const std::vector<servers::ModelEntry>& extra_models = {}) {
#ifdef CMBENCH_DATA_DIR
  return run_main(argc, argv, extra_models, CMBENCH_DATA_DIR);
#else
  return run_main(argc, argv, extra_models, {});
#endif
}

}  // namespace cmb
