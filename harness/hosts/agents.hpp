// Load from other hosts: `cmbench run --load-hosts A,B` runs one
// `cmbench load --agent` per host, each with its segment of the point's load
// (k6's execution segments); once all say they are ready, each is sent one
// start instant (on its own clock), as Tsung and Hyperfoil start theirs.
// An agent prints its whole result as one JSON line -- every histogram
// bucket by bucket -- so the harness merges the agents exactly, as the load
// threads of one generator merge.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/hosts/hosts.hpp"
#include "loadgen/engine.hpp"

namespace cmb::harness {

// The agent's line: everything in LoadResult.
std::string agent_result_json(const loadgen::LoadResult& result);

// Throws std::runtime_error when `line` is not such a line.
loadgen::LoadResult parse_agent_result(std::string_view line);

// `cmbench load` arguments that run `load` as agent `segment` of
// `segments`: the whole LoadConfig as one JSON object (--agent-config),
// written and read by one table of its fields. With --agent it prints
// "ready" once set up and reads its start instant from stdin.
std::vector<std::string> agent_arguments(const loadgen::LoadConfig& load, int segment,
                                         int segments);
std::string agent_config_json(const loadgen::LoadConfig& load);
// Throws std::invalid_argument when `text` is not such an object.
loadgen::LoadConfig parse_agent_config(std::string_view text);

struct AgentsResult {
  loadgen::LoadResult merged;             // the point's figures
  std::vector<loadgen::LoadResult> each;  // per host, in order (empty for one that failed)
  std::string error;                      // not empty: which host failed, and how
};

// Runs `load` from `hosts`: this binary on local and netns hosts, the
// `cmbench` on PATH over ssh. At the window's edge -- the start instant plus
// the warm-up, on this machine's clock -- calls load.on_window_open.
// `cancel` ends every agent early.
// `clock_offsets_ms[k]` is host k's clock minus ours (HostInfo): each agent
// is told the one start instant on its own clock.
AgentsResult run_agents(const loadgen::LoadConfig& load, const std::vector<HostSpec>& hosts,
                        const std::vector<double>& clock_offsets_ms,
                        const std::atomic<bool>* cancel);

// "netns:lab-load1,netns:lab-load2" for the CSV's load_hosts column.
std::string load_hosts_text(const std::vector<HostSpec>& hosts);

// Each host's own figures, for the point's PREFIX.agents.json: requests,
// rps, p50/p99, errors, its CPU and busiest thread, when its window opened.
std::string agents_summary_json(const std::vector<HostSpec>& hosts,
                                const std::vector<loadgen::LoadResult>& each);

}  // namespace cmb::harness
