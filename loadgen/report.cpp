#include "loadgen/report.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "loadgen/hlog.hpp"
#include "loadgen/units.hpp"

namespace cmb::loadgen {
namespace {

constexpr double kDistribution[] = {50, 75, 90, 99, 99.9, 99.99, 99.999};
// Above this CPU share a generator thread, not the server, sets the pace.
constexpr double kBusyThreadWarning = 0.9;
// Below this share of the target rate, an open-loop run says so.
constexpr double kRateShortfallWarning = 0.95;
// An open loop whose p99 send lag exceeds this share of the uncorrected
// p50 (and this many nanoseconds) charges its own lateness to the server
// visibly: say so.
constexpr double kScheduleLagShare = 0.1;
constexpr uint64_t kScheduleLagFloorNs = 20'000;

void print_latency_row(std::FILE* out, std::string_view label, const LatencyHistogram& h) {
  const auto f = [](uint64_t nanos) { return format_nanos(static_cast<double>(nanos)); };
  fmt::print(out, "  {:<12}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}\n", label, format_nanos(h.mean()),
             f(h.percentile(50)), f(h.percentile(90)), f(h.percentile(99)), f(h.percentile(99.9)),
             f(h.max()));
}

int effective_threads(const LoadConfig& config) {
  return std::min(config.threads, config.connections);
}

}  // namespace

namespace {

// wrk's header: the run's length and URL, threads and connections.
void print_header(std::FILE* out, const LoadConfig& config) {
  fmt::print(
      out, "Running {} test @ {}{}\n", format_nanos(static_cast<double>(config.duration.count())),
      config.targets.front().url.to_string(),
      config.targets.size() > 1 ? fmt::format(" and {} more URLs", config.targets.size() - 1) : "");
  fmt::print(
      out, "  {} threads and {} connections{}{}{}\n", effective_threads(config), config.connections,
      config.keep_alive ? "" : " (a new connection per request)",
      config.pipeline > 1 ? fmt::format(", {} requests pipelined", config.pipeline) : "",
      config.rate > 0
          ? fmt::format(
                ", open loop at {}{:g} req/s ({})",
                config.ramp.ramps() ? fmt::format("{} req/s, mean ", config.ramp.text()) : "",
                config.rate, config.arrival == Arrival::kPoisson ? "poisson" : "uniform")
          : "");
}

// The latency rows: corrected and uncorrected in an open loop, connect
// without keep-alive, each URL's of a mix, and the distribution if asked.
void print_latencies(std::FILE* out, const LoadConfig& config, const LoadResult& result,
                     bool latency_distribution) {
  fmt::print(out, "  {:<12}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}\n", "Latency", "mean", "p50", "p90",
             "p99", "p99.9", "max");
  print_latency_row(out, config.rate > 0 ? "corrected" : "", result.latency);
  if (config.rate > 0) {
    print_latency_row(out, "uncorrected", result.uncorrected_latency);
    print_latency_row(out, "send lag", result.schedule_lag);
  }
  if (!config.keep_alive && result.connect_latency.count() > 0)
    print_latency_row(out, "connect", result.connect_latency);
  if (config.targets.size() > 1) {
    for (size_t i = 0; i < config.targets.size(); ++i) {
      fmt::print(out, "  {} (weight {}): {} requests\n", config.targets[i].url.target,
                 config.targets[i].weight, result.targets[i].requests);
      print_latency_row(out, "", result.targets[i].latency);
    }
  }
  if (latency_distribution) {
    fmt::print(out, "  Latency Distribution\n");
    for (double pct : kDistribution)
      fmt::print(out, "  {:>7}%  {:>10}\n", pct,
                 format_nanos(static_cast<double>(result.latency.percentile(pct))));
  }
}

// What went unanswered or wrong: requests never answered, silent
// connections, errors by cause (wrk's line), idle connections' fate.
void print_losses(std::FILE* out, const LoadConfig& config, const LoadResult& result) {
  const ErrorCounts& e = result.errors;
  if (result.unanswered() > 0)
    fmt::print(out,
               "  {} requests never answered ({} timed out after {}, {} unanswered or not yet "
               "sent when the window closed), mean age {}; the latencies include them at that "
               "age\n",
               result.unanswered(), result.timed_out,
               format_nanos(static_cast<double>(config.timeout.count())), result.unfinished,
               format_nanos(result.unanswered_age_mean_us() * 1000));
  if (result.connections_unanswered > 0)
    fmt::print(out, "  {} of {} connections got no response in the whole window\n",
               result.connections_unanswered, config.connections);
  if (e.total() > e.status)  // wrk's line, in wrk's words
    fmt::print(out, "  Socket errors: connect {}, read {}, write {}, timeout {}\n", e.connect,
               e.read, e.write, e.timeout);
  if (e.status > 0) fmt::print(out, "  Non-2xx or 3xx responses: {}\n", e.status);
  if (config.idle_connections > 0)
    fmt::print(out, "  Idle connections: {} held, {} closed by the server during the run{}\n",
               result.idle_open, result.idle_closed,
               result.idle_failed > 0
                   ? fmt::format("; {} did not connect ({})", result.idle_failed, result.idle_error)
                   : "");
  for (const auto& [what, count] : result.error_details)
    fmt::print(out, "    {:>8}  {}\n", count, what);
}

}  // namespace

void print_summary(std::FILE* out, const LoadConfig& config, const LoadResult& result,
                   bool latency_distribution) {
  print_header(out, config);
  print_latencies(out, config, result, latency_distribution);
  fmt::print(out, "  {} requests in {:.2f}s, {} read\n", result.requests, result.duration_s,
             format_bytes(static_cast<double>(result.bytes_read)));
  print_losses(out, config, result);
  fmt::print(out, "Requests/sec: {:>10.2f}{}\n", result.rps(),
             config.rate > 0 ? fmt::format("  (target {:g})", config.rate) : "");
  fmt::print(out, "Generator CPU: {:.2f}s user, {:.2f}s system; busiest thread {:.0f}%\n",
             result.cpu_user_s, result.cpu_system_s, 100 * result.max_thread_busy());
}

std::string format_timeline_csv(const LoadConfig& config, const LoadResult& result) {
  // The rate offered over [from, from + length) s of the window: the
  // profile's mean there, from 16 samples (a step may fall inside).
  const auto offered = [&](double from, double length) -> std::string {
    if (!(config.rate > 0)) return "";
    if (!config.ramp.ramps()) return fmt::format("{:.1f}", config.rate);
    double sum = 0;
    constexpr int kSamples = 16;
    for (int i = 0; i < kSamples; ++i)
      sum += config.ramp.at(std::chrono::nanoseconds(
          static_cast<int64_t>((from + length * (i + 0.5) / kSamples) * 1e9)));
    return fmt::format("{:.1f}", sum / kSamples);
  };
  std::string out = "second,requests,rps,p50_us,p99_us,errors,offered_rps\n";
  for (size_t s = 0; s < result.timeline.size(); ++s) {
    const TimelineSecond& second = result.timeline[s];
    // The last second may be partial.
    const double length = std::clamp(result.duration_s - static_cast<double>(s), 0.001, 1.0);
    out += fmt::format("{},{},{:.1f},{:.1f},{:.1f},{},{}\n", s, second.requests,
                       static_cast<double>(second.requests) / length,
                       static_cast<double>(second.latency.percentile(50)) / 1000.0,
                       static_cast<double>(second.latency.percentile(99)) / 1000.0, second.errors,
                       offered(static_cast<double>(s), length));
  }
  return out;
}

std::string format_interval_log(const LoadConfig& config, const LoadResult& result) {
  return format_interval_log(interval_log(config, result));
}

HlogFile interval_log(const LoadConfig& config, const LoadResult& result) {
  HlogFile log;
  log.start_epoch_s = result.window_start_epoch_s;
  const bool open_loop = config.rate > 0;
  for (size_t i = 0; i < result.intervals.size(); ++i) {
    const double start = static_cast<double>(i);
    const double length = std::clamp(result.duration_s - start, 0.0, 1.0);
    log.intervals.push_back(
        {open_loop ? "corrected" : "", start, length, result.intervals[i].latency});
    if (open_loop)
      log.intervals.push_back({"uncorrected", start, length, result.intervals[i].uncorrected});
  }
  return log;
}

std::string mostly_status(const LoadResult& result, int hundreds) {
  const auto found = result.error_details.find(status_detail(hundreds));
  if (found == result.error_details.end() || 2 * found->second <= result.requests) return "";
  return fmt::format("{} of {} responses were {}xx", found->second, result.requests, hundreds);
}

std::vector<std::string> warnings(const LoadConfig& config, const LoadResult& result) {
  std::vector<std::string> out;
  for (const int hundreds : {4, 5})
    if (const std::string most = mostly_status(result, hundreds); !most.empty())
      out.push_back(fmt::format(
          "most responses were errors: {}; the figures time those, not the work asked for{}", most,
          hundreds == 4 ? " (check the URL's path and query)" : ""));
  if (config.rate > 0 && config.max_requests == 0 &&
      result.rps() < kRateShortfallWarning * config.rate)
    out.push_back(fmt::format(
        "the target rate was not reached: {:.1f} req/s achieved of {:g} (the server, or the "
        "connections available, could not keep up; latencies include the backlog)",
        result.rps(), config.rate));
  if (config.rate > 0 && result.schedule_lag.count() > 0) {
    const uint64_t lag = result.schedule_lag.percentile(99);
    const double p50 = static_cast<double>(result.uncorrected_latency.percentile(50));
    if (lag > kScheduleLagFloorNs && static_cast<double>(lag) > kScheduleLagShare * p50)
      out.push_back(fmt::format(
          "the generator sent late: send lag p99 {} against an uncorrected p50 of {}; corrected "
          "latencies include that lateness (fewer connections per thread, more threads, or a "
          "quieter CPU for the generator)",
          format_nanos(static_cast<double>(lag)), format_nanos(p50)));
  }
  if (config.busy_poll) return out;  // a polling thread is always busy: its share says nothing
  for (size_t i = 0; i < result.threads.size(); ++i) {
    if (result.threads[i].busy() > kBusyThreadWarning)
      out.push_back(fmt::format(
          "load generator thread {} was {:.0f}% busy: the figures may measure the client, not the "
          "server (add threads with -t, or give the generator more CPUs)",
          i, 100 * result.threads[i].busy()));
  }
  return out;
}

}  // namespace cmb::loadgen
