// The one results layer: a point's identity, its row, the summary of a sweep
// (best throughput, the p99 there, the knee under the SLO) and every JSON
// document the harness writes. `--resume`, `compare`, the run's summary,
// the manifest, `load --json` and (through the manifest) the plots all go
// through here, so each rule is written once. Pure functions and plain
// data; no threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "loadgen/engine.hpp"

namespace cmb::harness {

struct CsvTable;
struct SweepConfig;

// A point without its repetition: model, server_threads, workload,
// connections, rate, idle_connections. Repetitions are samples of one
// PointKey.
using PointKey = std::tuple<std::string, int, std::string, int, double, int>;

// What makes a point a point. Repetitions of one point share all but
// `repetition`.
struct PointId {
  std::string model;       // as swept: "thread-pool:32" keeps its own --threads
  int server_threads = 0;  // --threads given to the model; 0 = its default
  std::string workload;    // the query string sent, "" for hello
  int connections = 0;
  double rate = 0;  // target requests/s; 0 = closed loop
  int repetition = 1;
  int idle_connections = 0;  // held open beside `connections`, never sending

  // The point whose samples the repetitions are (what compare matches).
  PointKey point() const {
    return {model, server_threads, workload, connections, rate, idle_connections};
  }
  // The whole identity as one string (what --resume skips).
  std::string key() const;
};

// Reads identities from a results CSV's rows by column name, never by
// position. `server_threads` (0), `repetition` (1) and `idle_connections`
// (0) may be absent, as in hand-made files and older runs. Throws std::runtime_error naming a
// missing column, or a value that does not parse.
class PointReader {
 public:
  explicit PointReader(const CsvTable& table);
  PointId read(const std::vector<std::string>& row) const;

 private:
  int model_, threads_, workload_, connections_, rate_, repetition_, idle_;
};

// One measured point: its identity and every figure of the CSV schema
// (harness/csv.cpp; results/README.md documents each column).
struct ResultRow : PointId {
  std::string timestamp;  // end of the point, UTC, ISO 8601
  double duration_s = 0;
  uint64_t requests = 0;
  double rps = 0;
  uint64_t errors_connect = 0;
  uint64_t errors_read = 0;
  uint64_t errors_write = 0;
  uint64_t errors_timeout = 0;
  uint64_t errors_status = 0;
  double latency_mean_us = 0;
  double latency_p50_us = 0;
  double latency_p90_us = 0;
  double latency_p99_us = 0;
  double latency_p999_us = 0;
  double latency_max_us = 0;
  double uncorrected_p99_us = 0;   // open loop only
  double schedule_lag_p99_us = 0;  // open loop only: how late the generator sent
  double server_user_s = 0;
  double server_system_s = 0;
  double server_cpu_us_per_request = 0;
  // With `run --syscalls` where perf can count: the server's system calls
  // over the window per request it answered.
  std::optional<double> server_syscalls_per_request;
  uint64_t server_rss_max_kb = 0;
  int server_threads_max = 0;
  int server_processes_max = 0;
  uint64_t server_ctx_voluntary = 0;
  uint64_t server_ctx_involuntary = 0;
  double loadgen_cpu_s = 0;
  double loadgen_max_thread_busy = 0;
  uint64_t listen_overflows = 0;
  uint64_t listen_drops = 0;
  uint64_t tcp_retransmits = 0;
  uint64_t tcp_resets = 0;
  // The server's own counters over the measured window (empty when it did
  // not answer its snapshots): requests answered, connections refused,
  // connections timed out, requests rejected for bad input.
  std::optional<uint64_t> server_requests;
  std::optional<uint64_t> server_refused;
  std::optional<uint64_t> server_timed_out;
  std::optional<uint64_t> server_rejected;
  // Connections each accepting thread (or prefork child) took during the
  // window, "a|b|c" in slot order: how evenly the kernel spread them.
  std::optional<std::string> server_accepts_per_thread;
  // How the io-uring model's ring was set up (net::UringSetup's name);
  // empty for every other model.
  std::string uring_setup;
  // The hosts the load came from, "netns:a,netns:b" (run --load-hosts);
  // empty when this process generated it.
  std::string load_hosts;
  std::string artifacts;  // path prefix of the point's .hist and .timeline.csv
  std::string error;      // empty when the point was measured

  uint64_t errors() const {
    return errors_connect + errors_read + errors_write + errors_timeout + errors_status;
  }
};

// The knee's rule, in one place: a point of a rate sweep is within the SLO
// when the median p99 of its repetitions is at most `slo_p99_ms` and at most
// 0.1 % of its attempts (responses + errors, summed) failed.
inline constexpr double kKneeErrorShare = 0.001;

struct ModelSummary {
  std::string model;
  double best_rps = 0;  // the highest rps of any measured row
  double p99_at_best_us = 0;
  std::optional<double> knee_rate;  // rate sweeps: the highest rate within the SLO
};

struct SweepSummary {
  double slo_p99_ms = 0;
  bool rate_sweep = false;  // some point is open loop
  // Every model over all workloads, in sweep order (a model with no
  // measured row has none here).
  std::vector<ModelSummary> models;
  // The same per workload, in sweep order.
  std::vector<std::pair<std::string, std::vector<ModelSummary>>> workloads;
};

SweepSummary summarize(const std::vector<ResultRow>& rows, const std::vector<std::string>& models,
                       double slo_p99_ms);

// A scenario's claim judged on a run (harness/expectations.hpp).
struct Verdict {
  std::string claim;
  std::optional<bool> held;  // std::nullopt: not measured
  std::string measured;      // the figures behind the verdict, or why there are none
};

// The manifest beside a results CSV (same name, .json): the scenario, the
// command, the machine, the models and, once the sweep is done, its
// summary and the verdicts on the scenario's claims. Written through a
// rename: never half a file.
void write_manifest(const SweepConfig& config, const std::string& started,
                    const std::string& finished, const SweepSummary* summary,
                    const std::vector<Verdict>& verdicts = {});

// `cmbench load --json`: one object (README "The commands" lists its keys).
std::string load_json(const loadgen::LoadConfig& config, const loadgen::LoadResult& result);

}  // namespace cmb::harness
