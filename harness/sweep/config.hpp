// What a sweep is asked to measure: models, points, hosts and builds. Plain
// data, filled by `cmbench run` from a scenario file and its flags.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "harness/hosts/hosts.hpp"
#include "harness/results/model_spec.hpp"
#include "loadgen/schedule.hpp"

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

// A model of the sweep, resolved once from its text (resolve_sweep in
// sweep/models.hpp): its parts, what the registry or --external says of it,
// and the binary that serves it. Everything after that takes this value.
struct SweepModel {
  std::string text;  // as swept, and as the rows name it: "thread-pool:32@B"
  ModelSpec spec;
  // Not ours (nginx, a runtime's server, an --external one): none of our
  // counters or stages.
  bool external = false;
  // It serves cmbench's workload; false for nginx (hello whatever the query).
  bool workload = true;
  // Why it cannot run here (a runtime whose toolchain is missing): its
  // points are error rows saying so. Empty when it can.
  std::string unavailable;
  std::string command;                    // an --external server's command line
  std::string summary;                    // for the manifest
  std::string colour;                     // the registry's; empty for externals and other rings
  std::string marker;                     // the registry's (servers::kMarkers), beside colour
  std::string binary = "/proc/self/exe";  // the cmbench whose `serve` runs it (--binary)
  // The io-uring model's ring setup (its default when the spec names
  // none): its rows' uring_setup and its --uring. Empty for other models.
  std::string uring_setup;

  int threads(int sweep_threads) const { return spec.threads.value_or(sweep_threads); }
};

struct SweepConfig {
  std::string scenario;             // its name, for the default output path and titles
  std::string question;             // what the scenario asks
  std::string expect;               // the shape it expects, in prose
  std::vector<std::string> claims;  // the same as data (harness/results/claims.hpp)
  // The flags that replaced what the scenario's file measures ("--models",
  // "--workload", ...): its claims were written for its own sweep, and the
  // verdicts say they were judged without it. (main sets it to every flag
  // of cli/run_command.cpp's kScenarioFields given, "--claims" included; run's
  // callback reads those and keeps the ones that measure.)
  std::vector<std::string> replaced;
  std::vector<std::string> models;
  std::vector<ExternalModel> externals;  // names that models may use
  // Query strings. A point may mix several URLs: "bytes=13@95|sleep_us=20000@5".
  std::vector<std::string> workloads = {""};
  std::vector<int> connections = {1, 4, 16, 64};
  std::vector<double> rates = {0};  // open-loop req/s; 0 = closed loop
  // `run --ramp`: each point's load ramps through this profile instead
  // (a point's rate is its mean); none when it does not ramp.
  loadgen::RateProfile ramp;
  // Connections beside the active ones that connect and never send
  // (`load --idle-connections`), one point per count.
  std::vector<int> idle_connections = {0};
  int requests_per_connection = 0;  // > 0: a point sends connections x N requests, then ends
  bool keep_alive = true;           // false: a new connection per request
  bool attribution = false;         // the servers' `serve --attribution`: stage columns
  int repeat = 1;
  std::chrono::nanoseconds duration = std::chrono::seconds(5);
  std::chrono::nanoseconds warmup = std::chrono::seconds(1);
  // `--warmup auto`: warm up one second at a time until the last seconds
  // have settled (harness/results/steady.hpp), at most warmup_cap; each
  // row records the warm-up it got (warmup_s).
  bool warmup_auto = false;
  std::chrono::nanoseconds warmup_cap = std::chrono::seconds(30);
  std::chrono::nanoseconds timeout = std::chrono::seconds(2);
  double slo_p99_ms = 10;  // the knee: the highest rate whose p99 stays under it
  // "rate": search each model's highest rate under the SLO instead of
  // sweeping `rates` (harness/results/search.hpp); empty: no search.
  std::string search;
  double search_resolution = 0.05;  // the search's bracket, as a share of its rate
  int load_threads = 1;
  // The load threads poll instead of sleeping (load --busy-poll): no
  // response has to wake one, a cost the server would otherwise pay. Needs
  // load CPUs apart from the server's (check_busy_poll).
  bool busy_poll = false;
  int server_threads = 0;  // --threads for every model; 0 = each model's default
  std::string host = "127.0.0.1";
  bool pin = true;
  std::vector<int> server_cpus;  // empty with pin: the first half of ours
  std::vector<int> load_cpus;    // empty with pin: the rest
  std::string out;               // CSV path; empty: results/<scenario>-<time>.csv
  bool resume = false;           // skip points already measured in `out`
  bool plots = true;             // draw charts when Python can
  // Where the charts go; empty: plots/out/STEM, after the CSV's name
  // (NAME-TIME), so that no run's charts overwrite or mix with another's.
  std::string charts_dir;
  std::string chart_style = "paper";  // plots/plot_results.py --style: paper or talk
  std::string command_line;           // for the manifest
  // Same-runner A/B: each model runs once per build, its rows labelled
  // MODEL@LABEL, the builds taking turns point by point. Empty: this binary.
  std::vector<Build> builds;
  bool count_syscalls = false;  // server_syscalls_per_request, where perf can count
  // `run --profile`: the server's stacks sampled over each window
  // (sweep/profiler.hpp): cpu_KIND_us_per_request, PREFIX.folded and a
  // flame graph per point.
  bool profile = false;
  // An --external server passes `cmbench verify`'s checks before it is
  // measured (harness/verify/checks.hpp); false: `run --no-verify`.
  bool verify_externals = true;
  // The --external servers serve only a hello (`run --static`, as verify's):
  // they are given no work and not checked for it.
  bool static_externals = false;
  // Where the server runs (harness/hosts/hosts.hpp), binding `host`; and the load
  // hosts, one `cmbench load` agent each, whose results merge into one row.
  // No load hosts: the load generator runs in this process.
  HostSpec server_host;
  std::vector<HostSpec> load_hosts;
  // Learnt at the start (describe_host), for the manifest and for starting
  // each agent on its own clock: the server host's, then each load host's.
  std::vector<HostInfo> host_infos;
  bool push = false;  // copy this binary to every ssh host first
  // `models` resolved, in the same order (resolve_sweep).
  std::vector<SweepModel> resolved;

  // The resolved model a row names; throws std::out_of_range for another.
  const SweepModel& model(const std::string& text) const;
};

}  // namespace cmb::harness
