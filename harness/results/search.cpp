#include "harness/results/search.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "harness/results/summary.hpp"

namespace cmb::harness {

RateSearch::RateSearch(SearchSettings settings) : settings_(settings) {}

std::optional<SearchProbe> RateSearch::next() const {
  if (!outcome_.end.empty()) return std::nullopt;
  const bool closed = !probed_ || reprobing_;
  const size_t samples = closed ? probe_rps_.size() : samples_.size();
  return SearchProbe{closed ? 0 : rate_, static_cast<int>(samples) + 1, outcome_.points};
}

void RateSearch::end(std::string why) { outcome_.end = std::move(why); }

void RateSearch::end_bracketed() {
  end(fmt::format("bracket within {:g} %", settings_.resolution * 100));
}

void RateSearch::take(const ResultRow& row) {
  if (!outcome_.end.empty()) return;
  ++outcome_.points;
  if (!probed_) {
    if (!row.error.empty() || row.rps <= 0) {
      end(row.error.empty() ? "the closed-loop probe got no response"
                            : "the closed-loop probe failed: " + row.error);
      return;
    }
    probe_rps_.push_back(row.rps);
    if (static_cast<int>(probe_rps_.size()) < kSearchProbeSamples) return;
    probed_ = true;
    outcome_.estimate = *std::max_element(probe_rps_.begin(), probe_rps_.end());
    rate_ = std::max(1.0, std::floor(outcome_.estimate * kSearchStart));
    return;
  }
  if (reprobing_) {  // a failed sample leaves the estimate as it was
    if (row.error.empty() && row.rps > 0) outcome_.estimate = std::max(outcome_.estimate, row.rps);
    end_bracketed();
    return;
  }
  if (samples_.empty()) outcome_.path.push_back(row.rate);
  samples_.push_back(row);
  if (const std::optional<bool> held = judge()) {
    samples_.clear();
    decide(*held);
  }
  if (outcome_.end.empty() && outcome_.points >= kSearchMaxPoints)
    end(fmt::format("stopped at {} points", kSearchMaxPoints));
}

bool RateSearch::near_edge(const ResultRow& first) const {
  const double slo_us = settings_.slo_p99_ms * 1000;
  if (std::abs(first.latency_p99_us - slo_us) <= kSearchEdge * slo_us) return true;
  // Short of the rate by no more than a stall within the SLO leaves, and
  // that alone breaking the rule.
  const SloCheck check = check_slo({&first}, settings_.slo_p99_ms);
  const double stall_share =
      first.duration_s > 0 ? settings_.slo_p99_ms / 1000 / first.duration_s : 0;
  return check.p99 && check.errors && !check.answered &&
         first.rps >= (1 - std::max(kSearchShortEdge, stall_share)) * first.rate;
}

std::optional<bool> RateSearch::judge() const {
  std::vector<const ResultRow*> rows;
  for (const auto& sample : samples_) {
    if (!sample.error.empty()) return false;  // a server that fails at a rate does not sustain it
    rows.push_back(&sample);
  }
  // The first sample says whether the rate is near the edge; if so, the
  // median of up to three decides: two samples decide it when each alone
  // and both together say the same (the knee's rule over the rows then
  // says it too), else a third.
  const bool held = holds_slo(rows, settings_.slo_p99_ms);
  if (near_edge(samples_.front()) && static_cast<int>(samples_.size()) < kSearchEdgeSamples) {
    if (samples_.size() < 2 || held != holds_slo({rows[0]}, settings_.slo_p99_ms) ||
        held != holds_slo({rows[1]}, settings_.slo_p99_ms))
      return std::nullopt;
  }
  return held;
}

void RateSearch::decide(bool held) {
  if (held)
    pass_ = std::max(pass_.value_or(0), rate_);
  else
    outcome_.fail = std::min(outcome_.fail.value_or(rate_), rate_);
  outcome_.max_rate = pass_.value_or(0);
  if (!outcome_.fail) {  // still growing; by one at least, so that a low rate does too
    rate_ = std::max(rate_ + 1, std::floor(rate_ * kSearchGrowth));
    if (rate_ > kSearchMaxGrowth * outcome_.estimate)
      end(fmt::format("never violated, up to {:g} times the closed-loop rate", kSearchMaxGrowth));
    return;
  }
  if (!pass_) {  // still shrinking
    rate_ = std::floor(rate_ / kSearchShrink);
    if (rate_ < 1 || rate_ < outcome_.estimate / kSearchMaxShrink)
      end(fmt::format("no rate held the SLO, down to 1/{:g} of the closed-loop rate",
                      kSearchMaxShrink));
    return;
  }
  const double pass = *pass_, fail = *outcome_.fail;
  if (fail - pass <= settings_.resolution * pass || fail - pass <= 1) {
    if (pass > outcome_.estimate)
      reprobing_ = true;  // the probe was slowed (kSearchProbeSamples): once more
    else
      end_bracketed();
    return;
  }
  rate_ = std::round((pass + fail) / 2);
}

std::vector<FoundRate> replay_searches(const std::vector<ResultRow>& rows,
                                       const SearchSettings& settings) {
  std::vector<PointKey> order;
  std::map<PointKey, std::vector<const ResultRow*>> groups;
  for (const auto& row : rows) {
    if (!row.search_step) continue;
    PointKey key = row.point();
    key.rate = 0;
    if (!groups.contains(key)) order.push_back(key);
    groups[key].push_back(&row);
  }
  std::vector<FoundRate> found;
  for (const auto& key : order) {
    std::vector<const ResultRow*>& steps = groups[key];
    std::stable_sort(steps.begin(), steps.end(), [](const ResultRow* a, const ResultRow* b) {
      return *a->search_step < *b->search_step;
    });
    RateSearch search(settings);
    for (size_t i = 0; i < steps.size(); ++i) {
      if (i > 0 && *steps[i]->search_step == *steps[i - 1]->search_step)
        continue;  // a step written twice counts once
      // Rows another search wrote (another SLO, another cmbench) stop the
      // replay where they part from this one's path.
      const auto due = search.next();
      if (!due || due->rate != steps[i]->rate) break;
      search.take(*steps[i]);
    }
    found.push_back({key, search.outcome()});
  }
  return found;
}

std::string describe_search(const SearchOutcome& outcome) {
  if (outcome.max_rate <= 0)
    return fmt::format("none ({}; {} points)", outcome.end.empty() ? "not finished" : outcome.end,
                       outcome.points);
  return fmt::format("{:g} req/s (bracket {:g}-{}, {} points{})", outcome.max_rate,
                     outcome.max_rate, outcome.fail ? fmt::format("{:g}", *outcome.fail) : "?",
                     outcome.points, outcome.end.empty() ? ", not finished" : "");
}

}  // namespace cmb::harness
