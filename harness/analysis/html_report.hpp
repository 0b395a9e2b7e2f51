// `cmbench report RESULTS.csv... [-o report.html] [--slides]`: one
// self-contained HTML page per set of runs, for people. Per scenario: its
// question, the verdicts on its claims with their figures (judged here,
// against the scenario's current claims), the story chart and the others as
// inline SVG, the machine, the command, the cmbench build, and the summary
// table. No network and no JavaScript (--slides: a deck, with a script of
// its own for the keys). The claims are judged here in C++
// (harness/results/claims.hpp); plots/report.py lays out the page.
#pragma once

#include <string>
#include <vector>

namespace cmb::harness {

// The exit code: 1 when the page could not be written (no Python with
// matplotlib and pandas). Throws UsageError when a CSV cannot be read (exit 2).
int report_command(const std::vector<std::string>& csvs, const std::string& out, bool slides);

}  // namespace cmb::harness
