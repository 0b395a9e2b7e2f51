// What the kernel says about a running server, read from /proc: the whole
// process tree (prefork and fork-per-connection serve from children), and
// the machine's TCP counters.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace cmb::harness {

// `root` and every descendant alive now (from /proc/PID/task/*/children).
std::vector<pid_t> process_tree(pid_t root);

struct TreeCpu {
  double user_s = 0;  // every thread of every process, plus children the root reaped
  double system_s = 0;
};
// std::nullopt when the root is gone.
std::optional<TreeCpu> read_tree_cpu(pid_t root);

struct TreeMemory {
  uint64_t rss_kb = 0;  // summed over the tree (shared pages count once per process)
  int threads = 0;
  int processes = 0;
};
std::optional<TreeMemory> read_tree_memory(pid_t root);

// Context switches per live thread of the tree: tid -> (voluntary, involuntary).
using SwitchCounts = std::map<pid_t, std::pair<uint64_t, uint64_t>>;
SwitchCounts read_tree_switches(pid_t root);

// Accumulates context switches between samples. Threads born during the
// window count from zero; a thread that exits loses what it did since the
// last sample (sample often).
class SwitchCounter {
 public:
  void start(const SwitchCounts& baseline) { first_ = last_ = baseline; }
  void sample(const SwitchCounts& now);
  uint64_t voluntary() const;
  uint64_t involuntary() const;

 private:
  SwitchCounts first_;
  SwitchCounts last_;
  uint64_t gone_voluntary_ = 0;
  uint64_t gone_involuntary_ = 0;
};

// The TCP counters of the network namespace process `pid` is in (the
// whole machine's, when that is the machine's own), from
// /proc/PID/net/netstat and /proc/PID/net/snmp.
struct TcpCounters {
  uint64_t listen_overflows = 0;
  uint64_t listen_drops = 0;
  uint64_t retransmits = 0;
  uint64_t resets = 0;  // RSTs sent

  // How much each grew since `earlier`; never below 0.
  TcpCounters since(const TcpCounters& earlier) const {
    const auto grew = [](uint64_t now, uint64_t then) { return now >= then ? now - then : 0; };
    return {grew(listen_overflows, earlier.listen_overflows),
            grew(listen_drops, earlier.listen_drops), grew(retransmits, earlier.retransmits),
            grew(resets, earlier.resets)};
  }
};
TcpCounters read_tcp_counters(pid_t pid);

}  // namespace cmb::harness
