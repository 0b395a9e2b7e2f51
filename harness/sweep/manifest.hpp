// The manifest beside a results CSV (same name, .json): what a run was and
// what it found, for the plots, the report and people.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "harness/results/claims.hpp"
#include "harness/results/search.hpp"
#include "harness/results/summary.hpp"
#include "harness/sweep/config.hpp"
#include "harness/sweep/server_checks.hpp"

namespace cmb::harness {

// What a finished sweep found, beyond its rows.
struct SweepOutcome {
  std::string finished;  // UTC, as `started`
  SweepSummary summary;
  std::vector<Verdict> verdicts;
  std::vector<FoundRate> searches;
  std::map<std::string, ServerFindings> checks;  // per --external model (server_checks.hpp)
};

// The manifest beside a results CSV (same name, .json): the scenario, the
// command, the machine, the models and, once the sweep is done (`outcome`),
// its summary, the rates its searches found, what the checks found of each
// external server and the verdicts on the scenario's claims. Written
// through a rename: never half a file.
void write_manifest(const SweepConfig& config, const std::string& started,
                    const SweepOutcome* outcome = nullptr);

}  // namespace cmb::harness
