// Sweeps models x workloads x connection counts x repetitions: one server
// child per model, the load generator in this process on other CPUs, one
// CSV row per point written as soon as the point completes.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace cmb::harness {

struct SweepConfig {
  std::vector<std::string> models;
  std::vector<std::string> workloads = {""};  // query strings: "sleep_us=10000"
  std::vector<int> connections = {1, 4, 16, 64};
  int repeat = 1;
  std::chrono::nanoseconds duration = std::chrono::seconds(5);
  std::chrono::nanoseconds warmup = std::chrono::seconds(1);
  std::chrono::nanoseconds timeout = std::chrono::seconds(2);
  int load_threads = 1;
  int server_threads = 0;  // --threads for every model; 0 = each model's default
  std::string host = "127.0.0.1";
  std::string path = "/";
  bool pin = true;
  std::vector<int> server_cpus;  // empty with pin: the first half of ours
  std::vector<int> load_cpus;    // empty with pin: the rest
  std::string out;               // CSV path; empty: results/run-<time>.csv
  bool plots = true;             // draw charts when Python can
  std::string charts_dir = "plots/out";
};

// Runs the sweep; returns the process exit code. Points that fail become
// rows with an `error`; the sweep goes on.
int run_sweep(SweepConfig config);

}  // namespace cmb::harness
