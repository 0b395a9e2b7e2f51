#include "loadgen/units.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <stdexcept>
#include <utility>

namespace cmb::loadgen {

std::chrono::nanoseconds parse_duration(std::string_view text) {
  const std::string copy(text);
  char* end = nullptr;
  const double value = std::strtod(copy.c_str(), &end);
  const std::string_view unit(end);
  double scale = 0;
  if (unit.empty() || unit == "s")
    scale = 1e9;
  else if (unit == "ms")
    scale = 1e6;
  else if (unit == "us")
    scale = 1e3;
  else if (unit == "ns")
    scale = 1;
  else if (unit == "m")
    scale = 60e9;
  else if (unit == "h")
    scale = 3600e9;
  if (end == copy.c_str() || scale == 0 || !(value >= 0) || value * scale > 1e18)
    throw std::invalid_argument(
        fmt::format("invalid duration '{}' (use e.g. 10, 10s, 500ms, 2m)", text));
  return std::chrono::nanoseconds(static_cast<int64_t>(value * scale));
}

std::string format_duration(std::chrono::nanoseconds duration) {
  static constexpr std::pair<int64_t, const char*> kUnits[] = {
      {3'600'000'000'000, "h"}, {60'000'000'000, "m"}, {1'000'000'000, "s"},
      {1'000'000, "ms"},        {1'000, "us"},         {1, "ns"}};
  const int64_t n = duration.count();
  if (n == 0) return "0s";
  for (const auto& [size, unit] : kUnits)
    if (n % size == 0) return fmt::format("{}{}", n / size, unit);
  return fmt::format("{}ns", n);
}

std::string format_nanos(double nanos) {
  if (nanos < 1e6) return fmt::format("{:.2f}us", nanos / 1e3);
  if (nanos < 1e9) return fmt::format("{:.2f}ms", nanos / 1e6);
  return fmt::format("{:.2f}s", nanos / 1e9);
}

std::string format_bytes(double bytes) {
  static constexpr const char* kUnits[] = {"B", "KB", "MB", "GB", "TB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  return fmt::format("{:.2f}{}", bytes, kUnits[unit]);
}

}  // namespace cmb::loadgen
