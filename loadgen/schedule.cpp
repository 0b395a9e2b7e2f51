#include "loadgen/schedule.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "loadgen/units.hpp"

namespace cmb::loadgen {

double RateProfile::at(std::chrono::nanoseconds since_open) const {
  if (rates.empty()) return 0;
  if (since_open.count() <= 0 || rates.size() == 1) return rates.front();
  if (linear) {
    const double done = window.count() > 0 ? std::min(1.0, static_cast<double>(since_open.count()) /
                                                               static_cast<double>(window.count()))
                                           : 1.0;
    return rates[0] + (rates[1] - rates[0]) * done;
  }
  if (step.count() <= 0) return rates.front();
  return rates[std::min(rates.size() - 1, static_cast<size_t>(since_open / step))];
}

double RateProfile::mean() const {
  if (rates.empty()) return 0;
  if (rates.size() == 1) return rates.front();
  if (linear) return (rates[0] + rates[1]) / 2;
  if (step.count() <= 0 || window.count() <= 0) return rates.front();
  // Each rate for its share of the window; the last holds to its end.
  double sum = 0;
  for (size_t i = 0; i < rates.size(); ++i) {
    const auto from = step * static_cast<int64_t>(i);
    if (from >= window) break;
    const auto until = i + 1 == rates.size() ? window : std::min(window, from + step);
    sum += rates[i] * static_cast<double>((until - from).count());
  }
  return sum / static_cast<double>(window.count());
}

std::string RateProfile::rates_text() const {
  std::string out;
  for (size_t i = 0; i < rates.size(); ++i)
    out += fmt::format("{}{}", i == 0 ? "" : linear ? ":" : ",", rates[i]);
  return out;
}

std::string RateProfile::text() const {
  return rates_text() + (ramps() && !linear
                             ? fmt::format(" every {:g}s", static_cast<double>(step.count()) / 1e9)
                             : "");
}

RateProfile parse_rate_profile(std::string_view text) {
  const auto bad = [&](const std::string& why) {
    return std::invalid_argument(fmt::format("rate '{}': {}", text, why));
  };
  const bool line = text.find(':') != std::string_view::npos;
  if (line && text.find(',') != std::string_view::npos)
    throw bad("a ramp is A:B (a line) or A,B,C (steps), not both");
  RateProfile profile;
  profile.linear = line;
  const char separator = line ? ':' : ',';
  size_t from = 0;
  for (;;) {
    const size_t end = text.find(separator, from);
    const std::string part(
        text.substr(from, end == std::string_view::npos ? text.npos : end - from));
    size_t used = 0;
    double rate = 0;
    try {
      rate = std::stod(part, &used);
    } catch (const std::logic_error&) {
      used = 0;
    }
    if (part.empty() || used != part.size() || !(rate > 0) || !std::isfinite(rate))
      throw bad(fmt::format("'{}' is not a positive number of requests/s", part));
    profile.rates.push_back(rate);
    if (end == std::string_view::npos) break;
    from = end + 1;
  }
  if (line && profile.rates.size() != 2) throw bad("a line has two ends, A:B");
  return profile;
}

RateProfile rate_profile(std::string_view text, std::string_view step,
                         std::chrono::nanoseconds window) {
  RateProfile profile = parse_rate_profile(text);
  const bool steps = profile.ramps() && !profile.linear;
  if (steps != !step.empty())
    throw std::invalid_argument(steps ? "-R A,B,C steps: give --step, how long each lasts"
                                      : "--step goes with -R A,B,C");
  if (steps) {
    profile.step = parse_duration(step);
    if (profile.step.count() <= 0) throw std::invalid_argument("--step: give a length above 0");
    if (window.count() == 0) window = profile.step * static_cast<int64_t>(profile.rates.size());
  }
  profile.window = window;
  return profile;
}

OpenLoopSchedule::OpenLoopSchedule(const RateProfile& profile, Clock::time_point window_open,
                                   int connections, int index, Clock::time_point start,
                                   Arrival arrival, uint64_t seed)
    : OpenLoopSchedule(profile.at(start - window_open), connections, index, start, arrival, seed) {
  if (profile.ramps()) {
    profile_ = profile;
    window_open_ = window_open;
  }
}

void OpenLoopSchedule::follow_profile(Clock::time_point when) {
  if (!profile_) return;
  const double rate = profile_->at(when - window_open_);
  interval_ns_ =
      std::max<int64_t>(1, static_cast<int64_t>(std::llround(1e9 * connections_ / rate)));
}

OpenLoopSchedule::OpenLoopSchedule(double rate, int connections, int index, Clock::time_point start,
                                   Arrival arrival, uint64_t seed)
    : arrival_(arrival), connections_(connections), random_(seed) {
  if (!(rate > 0) || connections < 1 || index < 0 || index >= connections)
    throw std::invalid_argument(
        "an open-loop schedule needs a positive rate and a valid connection");
  // Each connection carries rate / connections: one request per
  // connections / rate seconds.
  interval_ns_ = static_cast<int64_t>(std::llround(1e9 * connections / rate));
  if (interval_ns_ < 1) interval_ns_ = 1;
  const auto offset = arrival == Arrival::kUniform
                          ? static_cast<int64_t>(std::llround(1e9 * index / rate))
                          : gap_ns();
  next_ = start + std::chrono::nanoseconds(offset);
}

OpenLoopSchedule::Clock::time_point OpenLoopSchedule::take() {
  const Clock::time_point due = next_;
  follow_profile(due);
  next_ += std::chrono::nanoseconds(gap_ns());
  return due;
}

int64_t OpenLoopSchedule::gap_ns() {
  if (arrival_ == Arrival::kUniform) return interval_ns_;
  std::exponential_distribution<double> gap(1.0 / static_cast<double>(interval_ns_));
  return std::max<int64_t>(1, static_cast<int64_t>(gap(random_)));
}

}  // namespace cmb::loadgen
