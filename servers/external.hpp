// A server that is not ours, run as a row next to the zoo: a command
// template (nginx is the built-in example), started by `cmbench serve` on a
// port it chose, and stopped with it. `cmbench serve` stays the process the
// harness talks to, so the readiness line, SIGTERM and the process tree's
// CPU and memory work as for any model; only the server's own counters are
// missing (the harness leaves those columns blank).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "servers/server.hpp"

namespace cmb::servers {

struct ExternalCommand {
  // argv, and files to write into a fresh directory first, each with the
  // placeholders {host}, {port}, {address} (host:port, [v6]:port),
  // {threads}, {dir} (that directory), {max_connections} and
  // {header_timeout_ms} replaced.
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> files;  // name, content
  // Ready once a stdout line contains this; empty: once the port accepts.
  std::string ready_line;
  std::chrono::milliseconds ready_timeout{10'000};
};

// `text` with every {name} placeholder above replaced for `config`, the
// address chosen and `dir`. Throws std::invalid_argument for an unknown one.
std::string expand_placeholders(const std::string& text, const ServerConfig& config,
                                const net::Address& address, const std::string& dir);

// Starts the command and returns once it is ready (or throws
// std::runtime_error saying why it is not: it exited, it printed nothing,
// the port never accepted). run() waits for stop(), then ends the command's
// process group with SIGTERM (SIGKILL after 5 s).
std::unique_ptr<Server> make_external_server(const ServerConfig& config,
                                             const ExternalCommand& command);

// A command line split into words at blanks, with single and double quotes
// and backslashes as a shell has them (but no $VARIABLES, globs or
// redirections: use `sh -c '...'` for those). Throws std::invalid_argument
// for unbalanced quotes or an empty line.
std::vector<std::string> split_command_line(const std::string& line);

// The path of `program` on PATH (or /usr/sbin, /sbin), or empty.
std::string find_program(const std::string& program);

}  // namespace cmb::servers
