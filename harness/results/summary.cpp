#include "harness/results/summary.hpp"

#include <algorithm>
#include <map>

#include "harness/base/stats.hpp"

namespace cmb::harness {
namespace {

// Each stage's mean, in order; nothing unless the row has all of them.
std::vector<double> stage_means(const ResultRow& row) {
  std::vector<double> means;
  for (const auto& stage : row.stages) {
    if (!stage.mean_us) return {};
    means.push_back(*stage.mean_us);
  }
  return means;
}

std::vector<ModelSummary> summarize_models(const std::vector<const ResultRow*>& rows,
                                           const std::vector<std::string>& models,
                                           double slo_p99_ms) {
  std::vector<ModelSummary> out;
  for (const auto& model : models) {
    ModelSummary summary;
    summary.model = model;
    const ResultRow* best = nullptr;
    std::map<PointKey, std::vector<const ResultRow*>> points;
    for (const ResultRow* row : rows) {
      if (row->model != model || !row->error.empty()) continue;
      if (best == nullptr || row->rps > best->rps) best = row;
      points[row->point()].push_back(row);
    }
    if (best == nullptr) continue;
    summary.best_rps = best->rps;
    summary.p99_at_best_us = best->latency_p99_us;
    summary.unanswered_at_best = best->unanswered;
    summary.unanswered_age_at_best_us = best->unanswered_age_mean_us;
    summary.connections_unanswered_at_best = best->connections_unanswered;
    summary.waiting_at_best = best->inbound_waiting.value_or(0) + best->queued_waiting.value_or(0);
    if (best->latency_mean_us > 0)
      summary.unanswered_share_at_best = best->unanswered_wait_us / best->latency_mean_us;
    summary.stages_at_best_us = stage_means(*best);
    for (const auto& [id, repetitions] : points)
      if (id.rate > 0 && holds_slo(repetitions, slo_p99_ms))
        summary.knee_rate = std::max(summary.knee_rate.value_or(id.rate), id.rate);
    out.push_back(summary);
  }
  return out;
}

}  // namespace

SloCheck check_slo(const std::vector<const ResultRow*>& repetitions, double slo_p99_ms) {
  std::vector<double> p99, rps;
  uint64_t errors = 0, attempts = 0;
  double rate = 0, duration_s = 0;
  for (const ResultRow* row : repetitions) {
    if (!row->error.empty()) continue;
    p99.push_back(row->latency_p99_us);
    rps.push_back(row->rps);
    errors += row->errors.total();
    attempts += row->requests + row->errors.total();
    rate = row->rate;
    duration_s = row->duration_s;
  }
  if (p99.empty()) return {};
  const double edges = duration_s > 0 ? kKneeEdgeRequests / duration_s : 0;
  return {median(p99) <= slo_p99_ms * 1000,
          static_cast<double>(errors) <= kKneeErrorShare * static_cast<double>(attempts),
          median(rps) >= kKneeServedShare * rate - edges};
}

bool holds_slo(const std::vector<const ResultRow*>& repetitions, double slo_p99_ms) {
  return check_slo(repetitions, slo_p99_ms).holds();
}

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
