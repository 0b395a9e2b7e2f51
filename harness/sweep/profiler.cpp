#include "harness/sweep/profiler.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "harness/base/files.hpp"
#include "harness/base/proc_stats.hpp"
#include "harness/base/subprocess.hpp"
#include "harness/results/cpu_kinds.hpp"
#include "net/spawn.hpp"

namespace cmb::harness {
namespace {

namespace fs = std::filesystem;

// 499 samples a second of a thread's CPU, and each stack's top 8 KiB
// to unwind from: a server's stacks are shallow.
constexpr const char* kFrequency = "499";
constexpr const char* kCallGraph = "dwarf,8192";

// Sampling whole CPUs (-a) is what a pinned server needs, and the most any
// profile asks of perf's permissions.
std::string probe() {
  const fs::path out =
      fs::temp_directory_path() / fmt::format("cmbench-profile-probe-{}", ::getpid());
  const CommandResult said =
      run_command({"perf", "record", "-q", "-a", "-e", "cpu-clock", "-F", kFrequency,
                   "--call-graph", kCallGraph, "-o", out.string(), "--", "true"});
  std::error_code ignored;
  fs::remove(out, ignored);
  if (said.exit_code == kCannotRun) return "perf is not installed (apt-get install linux-perf)";
  if (!said.ok())
    return "perf cannot sample the server's CPUs here (run as root, or set "
           "kernel.perf_event_paranoid to 0 or lower)";
  return "";
}

// A frame line of `perf script`: "\tADDRESS SYMBOL[ (inlined)]"; the symbol.
std::string_view frame_symbol(std::string_view line) {
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  const size_t space = line.find(' ');
  std::string_view symbol = space == std::string_view::npos ? "" : line.substr(space + 1);
  if (symbol.ends_with(" (inlined)")) symbol.remove_suffix(10);
  return symbol.empty() ? "[unknown]" : symbol;
}

}  // namespace

const std::string& Profiler::unavailable_reason() {
  static const std::string reason = probe();
  return reason;
}

std::string Profiler::flame_graph_template() {
  for (const fs::path& path :
       {data_dir() / "flamegraph" / "d3-flamegraph-base.html",
        data_dir() /
            "build/npm/node_modules/d3-flame-graph/dist/templates/d3-flamegraph-base.html"})
    if (fs::is_regular_file(path)) return path.string();
  return "";
}

Profiler::Profiler(pid_t pid, std::vector<int> cpus)
    : pid_(pid), cpus_(std::move(cpus)), dir_(make_perf_dir("profile")) {
  if (cpus_.empty()) return;  // per thread, from start()
  control_.emplace(dir_);
  std::string why;
  perf_ = spawn({"perf", "record", "-q", "-e", "cpu-clock", "-F", kFrequency, "--call-graph",
                 kCallGraph, "-C", fmt::format("{}", fmt::join(cpus_, ",")), "-D", "-1",
                 "--control", control_->argument(), "-o", (dir_ / "perf.data").string()},
                -1, -1, -1, &why);
  if (perf_ < 0) throw std::runtime_error(why);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // set up before the window
}

Profiler::~Profiler() {
  if (perf_ > 0) {
    ::kill(perf_, SIGKILL);
    wait_child(perf_, std::chrono::seconds(5));
  }
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

void Profiler::note_tree() {
  for (const pid_t member : process_tree(pid_)) {
    pids_.insert(member);
    std::ifstream comm(fmt::format("/proc/{}/comm", member));
    if (std::string name; std::getline(comm, name)) comms_.insert(name);
  }
}

void Profiler::start() noexcept {
  try {
    note_tree();
  } catch (const std::exception&) {
    // the processes are noted again at finish()
  }
  if (control_) return control_->send("enable\n");
  // Every thread of every process of the tree as it is now: perf follows
  // what they start later, but attached before the window and switched on
  // at its edge it sampled none of the threads thread-per-connection made
  // meanwhile, so it attaches at the edge. It is
  // started from the load thread that opens the window, which ends before
  // perf does: a death signal would follow that thread, so there is none;
  // perf ends with the server it samples, if not with finish().
  const std::string pids = tree_pid_list(pid_);
  net::SpawnOptions options;
  options.stdin_fd = options.stdout_fd = options.stderr_fd = net::SpawnOptions::kDevNull;
  options.die_with_parent = false;
  try {
    perf_ = net::spawn_process(
        {"perf", "record", "-q", "-e", "cpu-clock", "-F", kFrequency, "--call-graph", kCallGraph,
         "-o", (dir_ / "perf.data").string(), "-p", pids},
        options);
  } catch (const std::exception&) {
    perf_ = -1;  // finish() finds no profile
  }
}

void Profiler::stop() noexcept {
  if (control_) return control_->send("disable\n");
  if (perf_ > 0) ::kill(perf_, SIGINT);  // it writes what it has and exits
}

std::optional<Profile> Profiler::finish(const std::string& prefix) {
  if (perf_ <= 0) return std::nullopt;
  ::kill(perf_, SIGINT);
  wait_child(perf_, std::chrono::seconds(30));
  perf_ = -1;
  const std::string data = (dir_ / "perf.data").string();
  const CommandResult script =
      run_command({"perf", "script", "-i", data, "-F", "comm,pid,ip,sym"}, std::chrono::minutes(2));
  note_tree();
  // On the server's CPUs, the server's: its processes, children of theirs
  // that came and went (a fork keeps its command's name), and the kernel's
  // softirq threads doing network work there. Not idle, not the harness,
  // not a neighbour.
  FoldedStacks folded = fold_perf_script(script.out, [this](pid_t pid, const std::string& comm) {
    return pid != ::getpid() && pid > 0 &&
           (pids_.contains(pid) || comms_.contains(comm) || comm.starts_with("ksoftirqd/"));
  });
  if (folded.profile.samples == 0) return std::nullopt;
  write_file_atomically(prefix + ".folded", folded.text);
  if (const std::string page = flame_graph_template(); !page.empty()) {
    // perf's report reads ./perf.data for its header: run it where that is.
    const CommandResult flame =
        run_command({"env", "-C", dir_.string(), "perf", "script", "report", "flamegraph",
                     "--template", page, "-o", fs::absolute(prefix + ".flame.html").string()},
                    std::chrono::minutes(2));
    folded.profile.flame_graph = flame.ok() && fs::exists(prefix + ".flame.html");
  }
  return folded.profile;
}

FoldedStacks fold_perf_script(const std::string& script, const SampleFilter& keep) {
  FoldedStacks out;
  out.profile.by_kind.assign(cpu_kinds().size(), 0);
  std::map<std::string, uint64_t> stacks;
  std::map<std::string, uint64_t> by_comm;
  std::string comm;
  pid_t pid = -1;
  std::vector<std::string> frames;  // leaf first, as perf prints them
  const auto end_sample = [&] {
    if (comm.empty() || (keep && !keep(pid, comm))) {
      comm.clear();
      frames.clear();
      return;
    }
    std::string key = comm;
    for (auto frame = frames.rbegin(); frame != frames.rend(); ++frame)
      if (*frame != "[unknown]" || frame != frames.rbegin()) key += ";" + *frame;
    ++stacks[key];
    ++by_comm[comm];
    ++out.profile.by_kind[classify_stack({frames.begin(), frames.end()})];
    ++out.profile.samples;
    comm.clear();
    frames.clear();
  };
  std::istringstream lines(script);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) {
      end_sample();
    } else if (line.front() == '\t' || line.front() == ' ') {
      frames.emplace_back(frame_symbol(line));
    } else {
      end_sample();
      // "COMM PID": the command may hold spaces, the pid is the last word.
      const std::string header = line.substr(0, line.find_last_not_of(' ') + 1);
      const size_t space = header.find_last_of(' ');
      comm = header.substr(0, header.find_last_not_of(' ', space) + 1);
      pid = static_cast<pid_t>(std::strtol(header.c_str() + space + 1, nullptr, 10));
    }
  }
  end_sample();
  for (const auto& [stack, count] : stacks) out.text += fmt::format("{} {}\n", stack, count);
  // Interpreters whose frames perf can only name as their own.
  for (const char* interpreter : {"python3", "python", "node"})
    if (const auto found = by_comm.find(interpreter);
        found != by_comm.end() && 2 * found->second > out.profile.samples)
      out.profile.interpreter = interpreter;
  return out;
}

std::vector<double> Profile::split(double cpu_us) const {
  std::vector<double> parts;
  if (samples == 0) return parts;
  for (const uint64_t in_kind : by_kind)
    parts.push_back(cpu_us * static_cast<double>(in_kind) / static_cast<double>(samples));
  return parts;
}

std::string interpreter_warning(const Profile& profile) {
  if (profile.interpreter.empty()) return "";
  return fmt::format(
      "profile: the frames are {}'s interpreter's, so the server's own code shows "
      "as other",
      profile.interpreter);
}

}  // namespace cmb::harness
