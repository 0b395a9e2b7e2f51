// How a load run is shown: a wrk-like summary for people and the
// per-second timeline (its JSON is harness/cli/subcommands.hpp's load_json).
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "loadgen/engine.hpp"
#include "loadgen/hlog.hpp"

namespace cmb::loadgen {

void print_summary(std::FILE* out, const LoadConfig& config, const LoadResult& result,
                   bool latency_distribution);

// One CSV line per second of the measured window: second, requests, rps,
// p50_us, p99_us, errors, offered_rps (in an open loop, the rate the
// schedule offered over that second, which a ramp moves; empty in a closed
// loop).
std::string format_timeline_csv(const LoadConfig& config, const LoadResult& result);

// The measured window as an HdrHistogram interval log (loadgen/hlog.hpp),
// one interval per second, from LoadResult::intervals: untagged in a closed
// loop, tagged `corrected` and `uncorrected` in an open one.
HlogFile interval_log(const LoadConfig& config, const LoadResult& result);
std::string format_interval_log(const LoadConfig& config, const LoadResult& result);

// "1509 of 1509 responses were 4xx" when more than half of the responses
// had a status of that class (4: the request itself was wrong), else "".
std::string mostly_status(const LoadResult& result, int hundreds);

// Sentences for stderr (and load --json's `warnings`) when the figures
// deserve doubt: most responses were errors, the target rate was not
// reached, sends ran late, or a generator thread was nearly saturated.
std::vector<std::string> warnings(const LoadConfig& config, const LoadResult& result);

}  // namespace cmb::loadgen
