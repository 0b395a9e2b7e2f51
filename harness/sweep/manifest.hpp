// The manifest beside a results CSV (same name, .json): what a run was and
// what it found, for the plots, the report and people.
#pragma once

#include <string>
#include <vector>

#include "harness/results/claims.hpp"
#include "harness/results/search.hpp"
#include "harness/results/summary.hpp"
#include "harness/sweep/config.hpp"

namespace cmb::harness {

// The manifest beside a results CSV (same name, .json): the scenario, the
// command, the machine, the models and, once the sweep is done, its
// summary, the rates its searches found and the verdicts on the scenario's
// claims. Written through a rename: never half a file.
void write_manifest(const SweepConfig& config, const std::string& started,
                    const std::string& finished, const SweepSummary* summary,
                    const std::vector<Verdict>& verdicts = {},
                    const std::vector<FoundRate>& searches = {});

}  // namespace cmb::harness
