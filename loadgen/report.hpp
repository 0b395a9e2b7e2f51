// How a load run is shown: a wrk-like summary for people, one JSON object
// (DESIGN.md's keys) for programs.
#pragma once

#include <cstdio>
#include <string>

#include "loadgen/engine.hpp"

namespace cmb::loadgen {

// The percentiles a summary lists with --latency, and the JSON keys.
void print_summary(std::FILE* out, const LoadConfig& config, const LoadResult& result,
                   bool latency_distribution);

std::string to_json(const LoadConfig& config, const LoadResult& result);

}  // namespace cmb::loadgen
