// A sweep's configuration checked once, at the edge, and its models
// resolved: what `cmbench run` and a scenario file give becomes values the
// rest of the sweep takes, and every problem is a UsageError
// (base/exit_codes.hpp) before anything runs. Pure but for reading the
// registry and checking that a --binary is executable.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "harness/sweep/config.hpp"

namespace cmb::harness {

// The one model whose ring can be set up (MODEL+SETUP, serve --uring).
inline constexpr std::string_view kRingModel = "io-uring";

// `--external NAME=COMMAND`: checked (a free name, a command that splits)
// and added to config.externals.
void add_external(SweepConfig& config, const std::string& given);

// The `index`-th `--binary [LABEL=]PATH` (labels A, B, ... by default):
// checked (a good label, given once, an executable file) and added to
// config.builds with an absolute path.
void add_build(SweepConfig& config, const std::string& given, size_t index);

// Checks the models (known here or external, +SETUP only for io-uring,
// THREADS a number) and the builds against the server host, labels every
// model by build (MODEL@LABEL, once per build, in the builds' order), and
// fills config.resolved. Idempotent.
void resolve_sweep(SweepConfig& config);

}  // namespace cmb::harness
