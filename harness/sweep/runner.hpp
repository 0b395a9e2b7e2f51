// Sweeps models x workloads x rates x connection counts x repetitions: one
// server child per model, the load generator in this process on other
// CPUs, one CSV row per point written as soon as the point completes, a
// manifest beside the CSV, and charts at the end. run_sweep() ties together
// plan.hpp (which points, where), measure.hpp (one point), progress.hpp
// (what people see) and manifest.hpp; the results layer owns the rows, the
// summary and the claims.
#pragma once

#include "harness/sweep/config.hpp"

namespace cmb::harness {

// Runs the sweep; returns the process exit code: 0, 1 when any point in
// the CSV is an error row (the sweep goes on past it and the CSV is whole),
// 130 when interrupted.
int run_sweep(SweepConfig config);

}  // namespace cmb::harness
