// Planning a sweep: which points, in which order, which of them an earlier
// run already measured, which CPUs server and load generator get, and what
// a scenario file and a model spec name.
#pragma once

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "harness/results/summary.hpp"
#include "harness/sweep/config.hpp"

namespace cmb::harness {

// Every point `csv` already holds a measured row of (for --resume); none
// when the file does not exist.
std::set<PointId> measured_points(const std::string& csv);

// The points still to measure. Repetitions are the outer loop: each round
// measures every model once, so a disturbance of a few seconds touches one
// sample of each model instead of every sample of one (which a
// significance test would call real). The builds of one model take turns
// point by point, A B in odd rounds and B A in even ones, so a drift in
// the machine's speed favours neither.
// The config's models must be resolved (resolve_sweep).
std::vector<PointId> plan_points(const SweepConfig& config, const std::set<PointId>& done);

// What chooses the open loop's rates: `rates`, a search (`--search rate`)
// or a ramp (`--ramp`). A search repeats points near the SLO itself and
// needs a measured window, and neither goes with a ramp: a UsageError
// otherwise. A search and a ramp choose the rates themselves: rates given
// (a scenario file's, such as knee's) give way, and the note returned says
// so; a ramp's points are then at its mean.
std::string check_rates(SweepConfig& config);

// The --header-timeout the sweep's servers get: 0 (their 10 s default)
// unless an open-loop point spaces a connection's requests further apart,
// then twice the longest gap, so that no connection is closed for idling
// between its own requests; with idle connections or a search (whose
// rates are not known beforehand), long enough for a connection to be
// held through a whole point.
std::chrono::milliseconds server_header_timeout(const SweepConfig& config);

// The --max-connections the sweep's servers get: 0 (the server's default)
// unless a point holds more connections, active and idle, than that; then
// enough for the largest point, so that the model's own limit (threads,
// select's FD_SETSIZE, memory) is what shows.
int server_max_connections(const SweepConfig& config);

// With pinning and no CPUs named: the first half of the CPUs this process
// may use for the server, the rest for the load generator (a warning with
// one CPU). Without pinning: none.
void choose_cpus(SweepConfig& config);

// With --busy-poll, after choose_cpus: each polling load thread takes a
// whole CPU, so a load on this machine needs CPUs that are not the
// server's (throws UsageError otherwise). Load hosts have their own.
void check_busy_poll(const SweepConfig& config);

}  // namespace cmb::harness
