// Sweeps models x workloads x rates x connection counts x repetitions: one
// server child per model, the load generator in this process on other
// CPUs, one CSV row per point written as soon as the point completes, a
// manifest beside the CSV, and charts at the end. run_sweep() ties together
// plan.hpp (which points, where), measure.hpp (one point) and report.hpp
// (what people see); results.hpp owns the rows, the summary and the JSON.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "harness/hosts.hpp"

namespace cmb::harness {

// A cmbench binary whose servers a sweep measures (`--binary LABEL=PATH`).
struct Build {
  std::string label;  // "A", "B", ... unless named
  std::string path;
};

// A server of the user's own in the sweep: `run --external NAME=COMMAND`,
// or `external = ["NAME=COMMAND"]` in a scenario file (servers/external.hpp
// for the placeholders).
struct ExternalModel {
  std::string name;
  std::string command;
};

struct SweepConfig {
  std::string scenario;             // its name, for the default output path and titles
  std::string question;             // what the scenario asks
  std::string expect;               // the shape it expects, in prose
  std::vector<std::string> claims;  // the same as data (harness/expectations.hpp)
  std::vector<std::string> models;
  std::vector<ExternalModel> externals;  // names that models may use
  // Query strings. A point may mix several URLs: "bytes=13@95|sleep_us=20000@5".
  std::vector<std::string> workloads = {""};
  std::vector<int> connections = {1, 4, 16, 64};
  std::vector<double> rates = {0};  // open-loop req/s; 0 = closed loop
  // Connections beside the active ones that connect and never send
  // (`load --idle-connections`), one point per count.
  std::vector<int> idle_connections = {0};
  int requests_per_connection = 0;  // > 0: a point sends connections x N requests, then ends
  bool keep_alive = true;           // false: a new connection per request
  int repeat = 1;
  std::chrono::nanoseconds duration = std::chrono::seconds(5);
  std::chrono::nanoseconds warmup = std::chrono::seconds(1);
  std::chrono::nanoseconds timeout = std::chrono::seconds(2);
  double slo_p99_ms = 10;  // the knee: the highest rate whose p99 stays under it
  int load_threads = 1;
  int server_threads = 0;  // --threads for every model; 0 = each model's default
  std::string host = "127.0.0.1";
  bool pin = true;
  std::vector<int> server_cpus;  // empty with pin: the first half of ours
  std::vector<int> load_cpus;    // empty with pin: the rest
  std::string out;               // CSV path; empty: results/<scenario>-<time>.csv
  bool resume = false;           // skip points already measured in `out`
  bool plots = true;             // draw charts when Python can
  std::string charts_dir = "plots/out";
  std::string command_line;  // for the manifest
  // Same-runner A/B: each model runs once per build, its rows labelled
  // MODEL@LABEL, the builds taking turns point by point. Empty: this binary.
  std::vector<Build> builds;
  bool count_syscalls = false;  // server_syscalls_per_request, where perf can count
  // Where the server runs (harness/hosts.hpp), binding `host`; and the load
  // hosts, one `cmbench load` agent each, whose results merge into one row.
  // No load hosts: the load generator runs in this process.
  HostSpec server_host;
  std::vector<HostSpec> load_hosts;
  // Learnt at the start (describe_host), for the manifest and for starting
  // each agent on its own clock: the server host's, then each load host's.
  std::vector<HostInfo> host_infos;
  bool push = false;  // copy this binary to every ssh host first
};

// Runs the sweep; returns the process exit code (130 when interrupted).
// Points that fail become rows with an `error`; the sweep goes on.
int run_sweep(SweepConfig config);

// The --header-timeout the sweep's servers get: 0 (their 10 s default)
// unless an open-loop point spaces a connection's requests further apart,
// then twice the longest gap, so that no connection is closed for idling
// between its own requests; with idle connections, long enough for them
// to be held through a whole point.
std::chrono::milliseconds server_header_timeout(const SweepConfig& config);

// The --max-connections the sweep's servers get: 0 (the server's default)
// unless a point holds more connections, active and idle, than that; then
// enough for the largest point, so that the model's own limit (threads,
// select's FD_SETSIZE, memory) is what shows.
int server_max_connections(const SweepConfig& config);

// The scenario file for a name: NAME.toml as given, else scenarios/NAME.toml
// here or in the source tree. Throws std::invalid_argument listing the known
// scenarios.
std::string find_scenario(const std::string& name);

}  // namespace cmb::harness
