// The summary of a sweep: per model its best throughput, the p99 there,
// and the knee under the SLO. Pure functions.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "harness/results/row.hpp"

namespace cmb::harness {

// The knee's rule, in one place (the rate search's too): a point of a rate
// sweep is within the SLO when the median p99 of its repetitions is at most
// `slo_p99_ms`, at most 0.1 % of its attempts (responses + errors, summed)
// failed, and the median of their requests/s is at least 99.5 % of the
// rate offered, less two requests over the window. The last because a
// request unanswered at the window's end is in no histogram, and an
// overload shows in the shortfall before it shows in p99; a rate kept is
// answered whole but for the requests at the window's edges. The
// measurements behind the figures: docs/scenarios.md, "Finding the highest
// rate".
inline constexpr double kKneeErrorShare = 0.001;
inline constexpr double kKneeServedShare = 0.995;
inline constexpr double kKneeEdgeRequests = 2;

// The rule's three parts for the repetitions of one point. Rows with an
// error do not count; none left: every part false.
struct SloCheck {
  bool p99 = false;       // the median p99 within the SLO
  bool errors = false;    // at most kKneeErrorShare of the attempts failed
  bool answered = false;  // the median rps at least kKneeServedShare of the rate, less the edges
  bool holds() const { return p99 && errors && answered; }
};
SloCheck check_slo(const std::vector<const ResultRow*>& repetitions, double slo_p99_ms);

// Whether the repetitions of one point hold the SLO, by that rule.
bool holds_slo(const std::vector<const ResultRow*>& repetitions, double slo_p99_ms);

struct ModelSummary {
  std::string model;
  double best_rps = 0;  // the highest rps of any measured row
  double p99_at_best_us = 0;
  std::optional<double> knee_rate;  // rate sweeps: the highest rate within the SLO
  // Where the time went there: the inbound, queued, service and outbound
  // means; empty for a server without stages (nginx, externals).
  std::vector<double> stages_at_best_us;
  // Never answered there: requests, their mean age, their share of the
  // mean over every request sent, and connections that got no response.
  uint64_t unanswered_at_best = 0;
  double unanswered_age_at_best_us = 0;
  double unanswered_share_at_best = 0;
  uint64_t connections_unanswered_at_best = 0;
  // What the server held waiting for a worker as that window closed (its
  // own count: ResultRow's inbound_waiting and queued_waiting).
  uint64_t waiting_at_best = 0;
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
