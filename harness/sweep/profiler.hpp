// Where a server's CPU goes over the measured window (`run --profile`):
// `perf record` samples the CPU of every process of the server's tree on
// the software CPU clock, with whole call stacks unwound from DWARF (our
// binaries and the C library keep no frame pointers), from the window's
// opening edge to its close. After the window: the collapsed stacks (.folded, the format every
// flame graph tool reads), a flame graph page (perf's own flamegraph report
// with d3-flame-graph's template) and the samples' shares by kind
// (harness/results/cpu_kinds.hpp).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "harness/sweep/perf_control.hpp"

namespace cmb::harness {

struct Profile {
  uint64_t samples = 0;
  std::vector<uint64_t> by_kind;  // samples, in cpu_kinds()'s order
  bool flame_graph = false;       // PREFIX.flame.html was written
  // The interpreter most samples ran in (python3, node), whose frames are
  // its own, not the server's code; empty for a compiled server.
  std::string interpreter;

  // `cpu_us` (the server's CPU per request) split by each kind's share of
  // the samples, in cpu_kinds()'s order; empty when there are none.
  std::vector<double> split(double cpu_us) const;
};

// What a row says of a profile whose frames are an interpreter's ("" for
// none): its handler and parsing show as other (docs/cost.md).
std::string interpreter_warning(const Profile& profile);

class Profiler {
 public:
  // Empty when perf can sample a process's stacks here; otherwise why
  // not and how to allow it. Probed once per process.
  static const std::string& unavailable_reason();
  // The flame graph page's template (d3-flame-graph's), or empty when it
  // is not installed (then only the .folded file is written).
  static std::string flame_graph_template();

  // For the server whose tree `pid` heads. On the CPUs it is pinned to
  // (`cpus`) perf samples each CPU, whoever runs there (the server, and the
  // kernel's threads doing its network work), which costs the server little;
  // without them it samples the tree's threads, which costs a thread model
  // a perf switch at each of its context switches (docs/cost.md). Samples
  // nothing yet. Throws std::runtime_error.
  Profiler(pid_t pid, std::vector<int> cpus);
  ~Profiler();
  Profiler(const Profiler&) = delete;
  Profiler& operator=(const Profiler&) = delete;

  // At the window's opening edge: perf starts sampling (per thread, it
  // attaches to every thread of the tree then, and follows what they
  // start; its first milliseconds go unsampled, which moves no share).
  void start() noexcept;
  // At the closing edge: perf stops sampling.
  void stop() noexcept;
  // Waits for perf, then writes PREFIX.folded and PREFIX.flame.html from
  // what it sampled; std::nullopt when it sampled nothing.
  std::optional<Profile> finish(const std::string& prefix);

 private:
  // Adds the tree's processes as they are now, and their commands' names.
  void note_tree();

  pid_t pid_;
  std::set<pid_t> pids_;
  std::set<std::string> comms_;
  std::vector<int> cpus_;
  std::filesystem::path dir_;           // perf.data, and the control FIFO on CPUs
  std::optional<PerfControl> control_;  // on CPUs
  pid_t perf_ = -1;
};

// Collapses `perf script -F comm,pid,ip,sym` output into folded stacks
// ("comm;root;...;leaf COUNT" lines) and counts the samples by kind: those
// `keep` takes (by process id and command name), or every one.
struct FoldedStacks {
  std::string text;
  Profile profile;
};
using SampleFilter = std::function<bool(pid_t pid, const std::string& comm)>;
FoldedStacks fold_perf_script(const std::string& script, const SampleFilter& keep = {});

}  // namespace cmb::harness
