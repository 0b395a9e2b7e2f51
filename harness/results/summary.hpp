// The summary of a sweep: per model its best throughput, the p99 there,
// and the knee under the SLO. Pure functions.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "harness/results/row.hpp"

namespace cmb::harness {

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

}  // namespace cmb::harness
