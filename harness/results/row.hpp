// One measured point: its identity and every figure of the CSV schema
// (harness/results/schema.cpp; results/README.md documents each column).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "harness/results/point.hpp"
#include "loadgen/load.hpp"
#include "servers/stages/stages.hpp"

namespace cmb::harness {

// One measured point: its identity and every figure of the CSV schema
// (harness/results/schema.cpp; results/README.md documents each column).
struct ResultRow : PointId {
  std::string timestamp;  // end of the point, UTC, ISO 8601
  // The point's place in a rate search (harness/results/search.hpp), from
  // 0 (the closed-loop probe); none outside a search.
  std::optional<int> search_step;
  double duration_s = 0;
  double warmup_s = 0;  // the warm-up before the window: --warmup's, or what auto took
  uint64_t requests = 0;
  double rps = 0;
  // Once the sweep ends, on every row of a point measured more than once
  // (harness/results/repetitions.hpp): the 95 % bootstrap interval of the
  // median rps and p99 over its repetitions, and whether this repetition
  // lies outside Tukey's fences ("rps", "p99", "rps|p99"; empty: not).
  std::optional<double> rps_lo, rps_hi, p99_lo_us, p99_hi_us;
  std::string outlier;
  // Whether the window was in a steady state (harness/results/steady.hpp):
  // "yes", "no" (its rate moved along a trend), "" (too few responses).
  std::string steady;
  loadgen::ErrorCounts errors;  // by cause: columns errors_CAUSE (loadgen::kErrorCauses)
  // Requests sent in the window and never answered by its end (timed out,
  // or still waiting), their mean age then, and that age averaged over
  // every request sent: unanswered x age / (requests + unanswered), the
  // part of the client's mean that no answered request's stage explains.
  uint64_t unanswered = 0;
  double unanswered_age_mean_us = 0;
  double unanswered_wait_us = 0;
  uint64_t connections_unanswered = 0;  // connections with no response in the whole window
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
  // With `run --profile` where perf can sample: server_cpu_us_per_request
  // split by kind, in cpu_kinds()'s order (cpu_kinds.hpp); empty otherwise.
  std::vector<std::optional<double>> cpu_us_by_kind;
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
  // Where the server's time went (servers/stages/stages.hpp), over the
  // requests it answered in the window: each stage's mean and p99 in µs,
  // in kStageNames' order, empty where the server does not stamp it (nginx,
  // external servers). unaccounted is the client's mean latency less the
  // four means: the network, the client, and what the stages miss; empty
  // unless all four are there.
  struct StageFigures {
    std::optional<double> mean_us, p99_us;
  };
  std::array<StageFigures, servers::kStages> stages;
  std::optional<double> unaccounted_mean_us;
  // What the server held waiting for a worker as the window closed, by the
  // stage the wait belongs to (servers::WaitingWork): connections accepted and
  // queued for a pool thread (inbound), requests read and queued for a
  // handler (queued); how many and their mean wait then. 0 where the model
  // keeps no such queue; empty for nginx and external servers, and with
  // load agents (the window's closing edge is theirs).
  std::optional<uint64_t> inbound_waiting, queued_waiting;
  std::optional<double> inbound_waiting_age_mean_us, queued_waiting_age_mean_us;
  // Connections each accepting thread (or prefork child) took during the
  // window, "a|b|c" in slot order: how evenly the kernel spread them.
  std::optional<std::string> server_accepts_per_thread;
  // How the io-uring model's ring was set up (net::UringSetup's name);
  // empty for every other model.
  std::string uring_setup;
  // With `run --ramp`, the rates the load ramped through ("1000:5000",
  // "1000,2000 every 5s"); its `rate` is their mean. Empty otherwise.
  std::string ramp;
  // The hosts the load came from, "netns:a,netns:b" (run --load-hosts);
  // empty when this process generated it.
  std::string load_hosts;
  std::string artifacts;  // path prefix of the point's .hist and .timeline.csv
  // The load generator's doubts about the figures, "; " between them
  // (loadgen::warnings): the target rate not reached, sends late, a
  // saturated generator thread, most responses errors.
  std::string warnings;
  std::string error;  // empty when the point was measured
};

}  // namespace cmb::harness
