// The JSON lines `cmbench serve` prints after its readiness line: a snapshot
// of its counters on SIGUSR1, and on exit the counters with its process
// tree's usage. Written and read here only, so the two sides agree.
//
//   {"event":"snapshot","counters":{"requests":N,"refused":N,"timed_out":N,"rejected":N,
//    "accepted":N,"accepted_by_thread":[N,...]}}
//   {"event":"exit","counters":{...},"usage":{"user_s":S,"system_s":S,"max_rss_kb":N,
//    "voluntary_switches":N,"involuntary_switches":N}}
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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

struct ServerReport {
  std::string event;  // "snapshot" or "exit"
  servers::CounterValues counters;
  std::optional<ProcessUsage> usage;  // on exit
};

// One line, without its newline.
std::string format_server_report(const ServerReport& report);

// std::nullopt when the line is not such a report.
std::optional<ServerReport> parse_server_report(std::string_view line);

}  // namespace cmb::harness
