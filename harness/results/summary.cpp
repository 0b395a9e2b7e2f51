#include "harness/results/summary.hpp"

#include <algorithm>
#include <map>

#include "harness/base/stats.hpp"

namespace cmb::harness {
namespace {

// One point of a sweep: its repetitions reduced as the knee rule says.
struct PointFigures {
  std::vector<double> p99;
  uint64_t errors = 0;
  uint64_t attempts = 0;
};

std::vector<ModelSummary> summarize_models(const std::vector<const ResultRow*>& rows,
                                           const std::vector<std::string>& models,
                                           double slo_p99_ms) {
  std::vector<ModelSummary> out;
  for (const auto& model : models) {
    ModelSummary summary{model, 0, 0, std::nullopt};
    const ResultRow* best = nullptr;
    std::map<PointKey, PointFigures> points;
    for (const ResultRow* row : rows) {
      if (row->model != model || !row->error.empty()) continue;
      if (best == nullptr || row->rps > best->rps) best = row;
      PointFigures& point = points[row->point()];
      point.p99.push_back(row->latency_p99_us);
      point.errors += row->errors.total();
      point.attempts += row->requests + row->errors.total();
    }
    if (best == nullptr) continue;
    summary.best_rps = best->rps;
    summary.p99_at_best_us = best->latency_p99_us;
    for (const auto& [id, figures] : points) {
      const double rate = id.rate;
      if (rate <= 0 || median(figures.p99) > slo_p99_ms * 1000 ||
          static_cast<double>(figures.errors) >
              kKneeErrorShare * static_cast<double>(figures.attempts))
        continue;
      summary.knee_rate = std::max(summary.knee_rate.value_or(rate), rate);
    }
    out.push_back(summary);
  }
  return out;
}

}  // namespace

SweepSummary summarize(const std::vector<ResultRow>& rows, const std::vector<std::string>& models,
                       double slo_p99_ms) {
  SweepSummary summary;
  summary.slo_p99_ms = slo_p99_ms;
  std::vector<const ResultRow*> all;
  std::vector<std::string> workloads;
  for (const auto& row : rows) {
    all.push_back(&row);
    summary.rate_sweep |= row.rate > 0;
    if (std::find(workloads.begin(), workloads.end(), row.workload) == workloads.end())
      workloads.push_back(row.workload);
  }
  summary.models = summarize_models(all, models, slo_p99_ms);
  for (const auto& workload : workloads) {
    std::vector<const ResultRow*> part;
    for (const ResultRow* row : all)
      if (row->workload == workload) part.push_back(row);
    summary.workloads.emplace_back(workload, summarize_models(part, models, slo_p99_ms));
  }
  return summary;
}

}  // namespace cmb::harness
