// The `cmbench` subcommands, each returning the process exit code. main.cpp
// parses flags; these do the work.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "loadgen/engine.hpp"
#include "servers/external.hpp"
#include "servers/server.hpp"

namespace cmb::harness {

// Exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // ran, but the result is bad
inline constexpr int kExitUsage = 2;    // bad flags or input; nothing ran

int models_command();

// Serves until SIGINT or SIGTERM, after printing `listening on HOST:PORT`.
// Serves `model`, or with `external` that command (servers/external.hpp).
// With `control_stdin`, answers "snapshot" lines on stdin and stops when
// stdin ends (a harness on another host drives it that way over ssh).
int serve_command(const std::string& model, const servers::ServerConfig& config,
                  const std::optional<servers::ExternalCommand>& external = std::nullopt,
                  bool control_stdin = false);

// What `cmbench load` writes besides running the load.
struct LoadOutputs {
  bool json = false;
  bool latency_distribution = false;
  std::string timeline_path;
  std::string hist_path;
  std::string hlog_path;  // needs LoadConfig::interval_histograms
  bool agent = false;     // harness/agents.hpp's JSON line; ends when stdin closes
};

// Checks the target answers a connect first: an unreachable server is a
// usage error (exit 2), not a run full of connect errors.
int load_command(const loadgen::LoadConfig& config, const LoadOutputs& outputs);

// Adds up latency histograms from several load generators: `--hist` files
// and HdrHistogram interval logs alike. An output named *.hlog is an
// interval log whose intervals add the inputs' intervals that start at the
// same wall-clock millisecond, tag by tag; any other output is a `--hist`
// file of the total, from the interval logs' lines tagged `tag` (empty:
// the untagged and `corrected` lines).
int merge_hist_command(const std::vector<std::string>& inputs, const std::string& output,
                       const std::string& tag);

}  // namespace cmb::harness
