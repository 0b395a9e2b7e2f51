// Durations and sizes as users type and read them (wrk's conventions).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace cmb::loadgen {

// "10" (seconds), "10s", "500ms", "250us", "2m", "1h", "1.5s". Throws
// std::invalid_argument for anything else or a negative value.
std::chrono::nanoseconds parse_duration(std::string_view text);

// "950.00us", "12.34ms", "1.50s" — the unit that keeps the number readable.
std::string format_nanos(double nanos);

// "123.45KB", "1.20MB" (powers of 1024, as wrk prints them).
std::string format_bytes(double bytes);

}  // namespace cmb::loadgen
