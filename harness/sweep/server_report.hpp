// What `cmbench serve` prints: its readiness line, then JSON lines: a snapshot
// of its counters on SIGUSR1, and on exit the counters with its process
// tree's usage. Written and read here only, so the two sides agree.
//
//   {"event":"snapshot","counters":{"requests":N,"refused":N,"timed_out":N,"rejected":N,
//    "accepted":N,"accepted_by_thread":[N,...]}}
//   {"event":"exit","counters":{...},"usage":{"user_s":S,"system_s":S,"max_rss_kb":N,
//    "voluntary_switches":N,"involuntary_switches":N},"tree":{"user_s":S,"system_s":S,
//    "rss_kb":N,"threads":N,"processes":N,"voluntary_switches":N,"involuntary_switches":N,
//    "listen_overflows":N,"listen_drops":N,"retransmits":N,"resets":N}}
// (`serve --control-stdin` also answers a "snapshot" line on stdin with a
// snapshot that has the "tree").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "harness/base/proc_stats.hpp"
#include "servers/counters.hpp"

namespace cmb::harness {

// This process and the children it reaped (getrusage SELF + CHILDREN).
struct ProcessUsage {
  double user_s = 0;
  double system_s = 0;
  uint64_t max_rss_kb = 0;  // the larger of the two
  uint64_t voluntary_switches = 0;
  uint64_t involuntary_switches = 0;
};
ProcessUsage read_own_usage();

// The server's process tree now, as it sees itself (proc_stats.hpp): what a
// harness on another host cannot read from /proc.
struct TreeFigures {
  TreeCpu cpu;
  TreeMemory memory;
  uint64_t voluntary_switches = 0;  // of the threads alive now
  uint64_t involuntary_switches = 0;
  // Its network namespace's counters are the whole machine's (or
  // namespace's), not the server's: only their growth since the server
  // started is reported.
  TcpCounters tcp;
};
TreeFigures read_own_tree(const TcpCounters& at_start);

struct ServerReport {
  std::string event;  // "snapshot" or "exit"
  servers::CounterValues counters;
  std::optional<ProcessUsage> usage;  // on exit
  std::optional<TreeFigures> tree;    // on exit, and in snapshots asked for on stdin
};

// The line `cmbench serve` prints once it accepts, before any report:
// "listening on HOST:PORT" (an IPv6 host in brackets), without its newline.
std::string format_ready_line(const std::string& address);

// The port a ready line names; std::nullopt when `line` is not one.
std::optional<uint16_t> parse_ready_line(std::string_view line);

// One line, without its newline.
std::string format_server_report(const ServerReport& report);

// std::nullopt when the line is not such a report.
std::optional<ServerReport> parse_server_report(std::string_view line);

}  // namespace cmb::harness
