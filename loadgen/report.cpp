#include "loadgen/report.hpp"

#include <fmt/format.h>

#include "loadgen/units.hpp"

namespace cmb::loadgen {
namespace {

constexpr double kDistribution[] = {50, 75, 90, 99, 99.9, 99.99};

std::string latency_json(const LatencyHistogram& h) {
  const auto us = [](double nanos) { return nanos / 1000.0; };
  return fmt::format(
      R"({{"min": {:.1f}, "mean": {:.1f}, "p50": {:.1f}, "p90": {:.1f}, "p99": {:.1f}, "p999": {:.1f}, "max": {:.1f}}})",
      us(static_cast<double>(h.min())), us(h.mean()), us(static_cast<double>(h.percentile(50))),
      us(static_cast<double>(h.percentile(90))), us(static_cast<double>(h.percentile(99))),
      us(static_cast<double>(h.percentile(99.9))), us(static_cast<double>(h.max())));
}

std::string json_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<int>(c));
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

void print_summary(std::FILE* out, const LoadConfig& config, const LoadResult& result,
                   bool latency_distribution) {
  const LatencyHistogram& h = result.latency;
  const auto p = [&](double pct) { return format_nanos(static_cast<double>(h.percentile(pct))); };
  fmt::print(out, "Running {} test @ {}\n",
             format_nanos(static_cast<double>(config.duration.count())), config.url.to_string());
  fmt::print(out, "  {} threads and {} connections{}\n",
             std::min(config.threads, config.connections), config.connections,
             config.keep_alive ? "" : " (a new connection per request)");
  fmt::print(out, "  {:<10}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}\n", "Latency", "mean", "p50", "p90",
             "p99", "p99.9", "max");
  fmt::print(out, "  {:<10}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}\n", "", format_nanos(h.mean()),
             p(50), p(90), p(99), p(99.9), format_nanos(static_cast<double>(h.max())));
  if (!config.keep_alive && result.connect_latency.count() > 0) {
    const LatencyHistogram& c = result.connect_latency;
    fmt::print(out, "  {:<10}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}\n", "Connect",
               format_nanos(c.mean()), format_nanos(static_cast<double>(c.percentile(50))),
               format_nanos(static_cast<double>(c.percentile(90))),
               format_nanos(static_cast<double>(c.percentile(99))),
               format_nanos(static_cast<double>(c.percentile(99.9))),
               format_nanos(static_cast<double>(c.max())));
  }
  if (latency_distribution) {
    fmt::print(out, "  Latency Distribution\n");
    for (double pct : kDistribution) fmt::print(out, "  {:>7}%  {:>10}\n", pct, p(pct));
  }
  fmt::print(out, "  {} requests in {:.2f}s, {} read\n", result.requests, result.duration_s,
             format_bytes(static_cast<double>(result.bytes_read)));
  const ErrorCounts& e = result.errors;
  if (e.timeout > 0)
    fmt::print(out, "  Latency includes {} timed-out requests at their age when abandoned ({})\n",
               e.timeout, format_nanos(static_cast<double>(config.timeout.count())));
  if (e.connect + e.read + e.write + e.timeout > 0) {
    fmt::print(out, "  Socket errors: connect {}, read {}, write {}, timeout {}\n", e.connect,
               e.read, e.write, e.timeout);
    if (!result.first_error.empty()) fmt::print(out, "  First error: {}\n", result.first_error);
  }
  if (e.status > 0) fmt::print(out, "  Non-2xx or 3xx responses: {}\n", e.status);
  fmt::print(out, "Requests/sec: {:>10.2f}\n", result.rps());
  fmt::print(out, "Generator CPU: {:.2f}s user, {:.2f}s system\n", result.cpu_user_s,
             result.cpu_system_s);
}

std::string to_json(const LoadConfig& config, const LoadResult& result) {
  const ErrorCounts& e = result.errors;
  std::string json = fmt::format(
      R"({{"url": "{}", "connections": {}, "threads": {}, "keep_alive": {}, "requests": {}, )"
      R"("duration_s": {:.3f}, "rps": {:.2f}, "bytes_read": {}, )"
      R"("errors": {{"connect": {}, "read": {}, "write": {}, "timeout": {}, "status": {}}}, )"
      R"("latency_us": {}, "loadgen_cpu_s": {{"user": {:.3f}, "system": {:.3f}}})",
      json_escape(config.url.to_string()), config.connections,
      std::min(config.threads, config.connections), config.keep_alive, result.requests,
      result.duration_s, result.rps(), result.bytes_read, e.connect, e.read, e.write, e.timeout,
      e.status, latency_json(result.latency), result.cpu_user_s, result.cpu_system_s);
  if (!config.keep_alive)
    json += fmt::format(R"(, "connect_latency_us": {})", latency_json(result.connect_latency));
  if (!result.first_error.empty())
    json += fmt::format(R"(, "first_error": "{}")", json_escape(result.first_error));
  json += "}";
  return json;
}

}  // namespace cmb::loadgen
