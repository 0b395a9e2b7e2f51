// The `cmbench` subcommands, each returning the process exit code. main.cpp
// parses flags; these do the work.
#pragma once

#include "loadgen/engine.hpp"
#include "servers/server.hpp"

namespace cmb::harness {

// Exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // ran, but the result is bad
inline constexpr int kExitUsage = 2;    // bad flags or input; nothing ran

int models_command();

// Serves until SIGINT or SIGTERM, after printing `listening on HOST:PORT`.
int serve_command(const std::string& model, const servers::ServerConfig& config);

int load_command(const loadgen::LoadConfig& config, bool json, bool latency_distribution);

}  // namespace cmb::harness
