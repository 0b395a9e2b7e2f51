// Measuring one point: the load generator in this process against a server
// child, the server's process tree sampled meanwhile, its own counters read
// at the window's edges, and the point's histogram and timeline written
// beside the CSV.
#pragma once

#include <array>
#include <atomic>
#include <optional>
#include <string>

#include "harness/hosts/agents.hpp"
#include "harness/results/summary.hpp"
#include "harness/sweep/config.hpp"
#include "harness/sweep/server_process.hpp"
#include "loadgen/engine.hpp"
#include "servers/stages/stages.hpp"

namespace cmb::harness {

// A row with the point's identity, stamped now, and no figures yet.
ResultRow row_for(const PointId& point, const SweepModel& model);

class PointMeasurer {
 public:
  // `cancel`, when it turns true, ends the point early.
  PointMeasurer(const SweepConfig& config, const std::atomic<bool>* cancel);

  // The point's row; its `error` says so when the server ended meanwhile.
  ResultRow measure(ServerProcess& server, const PointId& point);
  // Removes the files measure() wrote for the point: a point cut short is
  // no result, and leaves nothing that looks like one.
  void discard(const PointId& point) const;

 private:
  // The point's latency histogram, interval log and timeline beside the CSV; returns their
  // path prefix relative to the CSV's folder.
  // The .hlog also holds each stage's window (tagged with its name) when
  // the server keeps stages.
  std::string write_artifacts(
      const PointId& point, const loadgen::LoadConfig& load, const loadgen::LoadResult& result,
      const std::optional<std::array<servers::StageHistogram, servers::kStages>>& stages);
  // The point's load; with --warmup auto, after warming the server up
  // (the row's warmup_s says how long either way).
  loadgen::LoadConfig load_for(const PointId& point, uint16_t port, ResultRow& row);
  // A load from this process, or from the load hosts' agents merged.
  AgentsResult run(const loadgen::LoadConfig& load);
  // `--warmup auto`: the point's load, one second at a time (without its
  // idle connections), until the last seconds have settled
  // (harness/results/steady.hpp) or the cap; the seconds it took.
  double warm_up(const loadgen::LoadConfig& load);
  // Each load host's clock minus ours, in --load-hosts order.
  std::vector<double> agent_clock_offsets() const;
  // Each load host's own figures, PREFIX.agents.json.
  void write_agents_file(const PointId& point, const std::vector<HostSpec>& hosts,
                         const std::vector<loadgen::LoadResult>& each);
  // FOLDER/NAME, relative to the CSV's folder; and the path prefix itself,
  // its folder made.
  std::string artifact_name(const PointId& point) const;
  std::string artifact_path(const PointId& point) const;

  const SweepConfig& config_;
  const std::atomic<bool>* cancel_;
};

}  // namespace cmb::harness
