// Planning a sweep: which points, in which order, which of them an earlier
// run already measured, which CPUs server and load generator get, and what
// a scenario file and a model spec name.
#pragma once

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "harness/results.hpp"
#include "harness/runner.hpp"

namespace cmb::harness {

// "thread-pool:32": a model with its own --threads, so one sweep can give a
// pool as many workers as it has connections while other models keep theirs.
// "epoll@B": the model as the build labelled B serves it (SweepConfig::builds).
// "io-uring+sqpoll": the io-uring model with its ring set up so
// (net::UringSetup), a row of its own.
struct ModelSpec {
  std::string name;
  int threads;
  std::string build;  // empty: this binary
  std::string uring;  // empty: the default setup
};
ModelSpec parse_model_spec(const std::string& model, int default_threads);

// Whether a row's model ("nginx:4@B" too) is a server that is not ours
// (servers::ModelInfo::external, or one of config.externals): hello
// workload only, no counters of ours.
bool external_model(const std::string& model, const SweepConfig& config);
// The command of one of config.externals by its row's model; nullptr if none.
const ExternalModel* find_external(const std::string& model, const SweepConfig& config);

// With builds: every model becomes MODEL@LABEL, once per build, in the
// builds' order. Without: nothing changes.
void label_models_by_build(SweepConfig& config);

// The PointId::key() of every point `csv` already holds a measured row of
// (for --resume); none when the file does not exist.
std::set<std::string> measured_points(const std::string& csv);

// The points still to measure. Repetitions are the outer loop: each round
// measures every model once, so a disturbance of a few seconds touches one
// sample of each model instead of every sample of one (which a
// significance test would call real). The builds of one model take turns
// point by point, A B in odd rounds and B A in even ones, so a drift in
// the machine's speed favours neither.
std::vector<PointId> plan_points(const SweepConfig& config, const std::set<std::string>& done);

// With pinning and no CPUs named: the first half of the CPUs this process
// may use for the server, the rest for the load generator (a warning with
// one CPU). Without pinning: none.
void choose_cpus(SweepConfig& config);

}  // namespace cmb::harness
