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

// Exactly, in the largest unit that divides it, as parse_duration reads it
// back: "5s", "200ms", "200us", "2m", "0s", "1500ns". Defaults shown in
// --help come from the structs' own values through it.
std::string format_duration(std::chrono::nanoseconds duration);

// "950.00us", "12.34ms", "1.50s" — the unit that keeps the number readable.
std::string format_nanos(double nanos);

// "123.45KB", "1.20MB" (powers of 1024, as wrk prints them).
std::string format_bytes(double bytes);

}  // namespace cmb::loadgen
