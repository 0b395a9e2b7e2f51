#include "harness/commands.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "harness/agents.hpp"
#include "harness/files.hpp"
#include "harness/results.hpp"
#include "harness/server_report.hpp"
#include "loadgen/hist_file.hpp"
#include "loadgen/hlog.hpp"
#include "loadgen/report.hpp"
#include "net/socket.hpp"
#include "servers/registry.hpp"

namespace cmb::harness {

int models_command() {
  size_t width = 0;
  for (const auto& model : servers::registered_models()) width = std::max(width, model.name.size());
  for (const auto& model : servers::registered_models()) {
    if (model.unavailable_reason.empty())
      fmt::print("{:<{}}  {}\n", model.name, width, model.summary);
  }
  for (const auto& model : servers::registered_models()) {
    if (!model.unavailable_reason.empty())
      fmt::print(stderr, "(not available here: {}: {})\n", model.name, model.unavailable_reason);
  }
  return kExitOk;
}

int serve_command(const std::string& model, const servers::ServerConfig& config,
                  const std::optional<servers::ExternalCommand>& external, bool control_stdin) {
  // Signals are taken by one thread with sigwait, so every other thread
  // (including the model's) runs with them blocked and is never interrupted.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Shared with the signal thread, which may outlive this function.
  std::shared_ptr<servers::Server> server = external
                                                ? servers::make_external_server(config, *external)
                                                : servers::make_server(model, config);
  if (net::is_wildcard(server->address()))
    fmt::print(stderr,
               "warning: listening on every interface ({}); use --host 127.0.0.1 to keep "
               "the server local\n",
               server->address().to_string());
  // SIGUSR1: one line with the counters so far, so a harness can difference
  // them at the edges of its measured window. SIGINT, SIGTERM: stop.
  // Lines from several threads: one at a time, whole.
  static std::mutex print_mutex;
  const auto print_line = [](const std::string& line) {
    std::lock_guard lock(print_mutex);
    fmt::print("{}\n", line);
    std::fflush(stdout);
  };
  std::thread([server, signals, print_line] {
    for (int signal = 0; sigwait(&signals, &signal) == 0 && signal == SIGUSR1;)
      print_line(format_server_report({"snapshot", servers::read_counters(), {}, {}}));
    server->stop();
  }).detach();
  // For a harness on another host (over ssh): a "snapshot" line on stdin
  // is answered with the counters and the process tree as the server sees
  // them; the end of stdin (the session ended) stops the server.
  if (control_stdin)
    std::thread([server, print_line] {
      for (std::string line; std::getline(std::cin, line);)
        if (line == "snapshot")
          print_line(
              format_server_report({"snapshot", servers::read_counters(), {}, read_own_tree()}));
      server->stop();
    }).detach();
  fmt::print("listening on {}\n", server->address().to_string());
  std::fflush(stdout);
  server->run();
  fmt::print("{}\n", format_server_report(
                         {"exit", servers::read_counters(), read_own_usage(), read_own_tree()}));
  std::fflush(stdout);
  return kExitOk;
}

namespace {

// One blocking connect with a timeout; empty when it worked, else why not.
std::string probe(const net::Address& address) {
  net::Fd fd(::socket(address.storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return std::strerror(errno);
  if (::connect(fd.get(), address.get(), address.length) == 0) return {};
  if (errno != EINPROGRESS) return std::strerror(errno);
  pollfd p{fd.get(), POLLOUT, 0};
  if (::poll(&p, 1, 2000) <= 0) return "no answer within 2 s";
  int error = 0;
  socklen_t length = sizeof error;
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
  return error == 0 ? std::string() : std::strerror(error);
}

}  // namespace

// The first response-parse error of a run that parsed no response at all;
// empty otherwise.
std::string non_http_reply(const loadgen::LoadResult& result) {
  if (result.requests > 0 || result.errors.status > 0) return {};
  for (const auto& [detail, count] : result.error_details)
    if (detail.rfind(loadgen::kNotHttp, 0) == 0) return detail.substr(loadgen::kNotHttp.size());
  return {};
}

int load_command(const loadgen::LoadConfig& config, const LoadOutputs& outputs) {
  const loadgen::Url& url = config.targets.front().url;
  if (const std::string why = probe(net::resolve(url.host, url.port)); !why.empty()) {
    fmt::print(stderr, "cmbench load: cannot connect to {}:{}: {}\n", url.host, url.port, why);
    return kExitUsage;
  }
  // An agent of `cmbench run --load-hosts` says "ready" once set up, and
  // its harness answers with the start instant once every agent is ready.
  // At the measured window's edge it says "edge" and waits, its load threads
  // paused there, until the harness has read the server's counters and
  // says "go": the barrier the threads of one generator have. It stops when
  // the harness closes its stdin (or its SSH session ends), so it never
  // outlives the run.
  static std::atomic<bool> stdin_closed{false};
  loadgen::LoadConfig run = config;
  if (outputs.agent) {
    auto start = std::make_shared<std::promise<int64_t>>();
    auto go = std::make_shared<std::promise<void>>();
    run.await_start = [future = std::make_shared<std::future<int64_t>>(start->get_future())] {
      fmt::print("ready\n");
      std::fflush(stdout);
      return future->get();
    };
    run.on_window_open = [released = std::make_shared<std::future<void>>(go->get_future())] {
      fmt::print("edge\n");
      std::fflush(stdout);
      released->wait();
    };
    std::thread([start, go] {
      std::string line;
      int64_t at = 0;
      if (std::getline(std::cin, line)) {
        try {
          at = std::stoll(line);
        } catch (const std::exception&) {
        }
      }
      start->set_value(at);
      bool released = false;
      while (std::getline(std::cin, line))
        if (line == "go" && !released) {
          go->set_value();
          released = true;
        }
      stdin_closed.store(true);
      if (!released) go->set_value();  // nobody will say go: do not wait at the edge
    }).detach();
  }
  const loadgen::LoadResult result =
      loadgen::run_load(run, outputs.agent ? &stdin_closed : nullptr);
  if (outputs.agent) {
    fmt::print("{}\n", agent_result_json(result));
    return kExitOk;
  }
  if (outputs.json) {
    fmt::print("{}\n", load_json(config, result));
  } else {
    loadgen::print_summary(stdout, config, result, outputs.latency_distribution);
  }
  for (const auto& warning : loadgen::warnings(config, result))
    fmt::print(stderr, "warning: {}\n", warning);
  if (!outputs.timeline_path.empty())
    write_file_atomically(outputs.timeline_path, loadgen::format_timeline_csv(result));
  if (!outputs.hist_path.empty())
    write_file_atomically(outputs.hist_path, loadgen::format_histogram_file(result.latency));
  if (!outputs.hlog_path.empty())
    write_file_atomically(outputs.hlog_path, loadgen::format_interval_log(config, result));
  // Not one response could be parsed, and what came back was not HTTP: the
  // URL points at some other service. Its figures above mean nothing.
  if (const std::string garbage = non_http_reply(result); !garbage.empty()) {
    fmt::print(stderr, "cmbench load: {}:{} does not answer HTTP/1.x ({})\n", url.host, url.port,
               garbage);
    return kExitUsage;
  }
  return kExitOk;
}

namespace {

// The lines a total adds up: those tagged `tag`, or with none asked for,
// the untagged and `corrected` ones (a closed loop's and an open loop's
// latency), never `uncorrected`, which counts the same requests again.
bool wanted(const loadgen::HlogInterval& interval, const std::string& tag) {
  return tag.empty() ? interval.tag.empty() || interval.tag == "corrected" : interval.tag == tag;
}

}  // namespace

int merge_hist_command(const std::vector<std::string>& inputs, const std::string& output,
                       const std::string& tag) {
  const bool to_log = output.ends_with(".hlog");
  loadgen::LatencyHistogram total;
  // (tag, interval start in wall-clock ms) -> the interval, for an .hlog output.
  std::map<std::pair<std::string, int64_t>, loadgen::HlogInterval> intervals;
  double start_epoch_s = 0;
  for (const auto& path : inputs) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    try {
      if (!loadgen::looks_like_interval_log(text.str())) {
        if (to_log)
          throw std::runtime_error("a --hist file has no intervals to merge into an .hlog");
        total.merge(loadgen::parse_histogram_file(text.str()));
        continue;
      }
      const loadgen::HlogFile log = loadgen::parse_interval_log(text.str());
      if (start_epoch_s == 0 || (log.start_epoch_s > 0 && log.start_epoch_s < start_epoch_s))
        start_epoch_s = log.start_epoch_s;
      for (const auto& interval : log.intervals) {
        if (!to_log) {
          if (wanted(interval, tag)) total.merge(interval.histogram);
          continue;
        }
        const auto ms =
            static_cast<int64_t>(std::llround((log.start_epoch_s + interval.start_s) * 1000.0));
        auto [at, fresh] = intervals.try_emplace({interval.tag, ms}, interval);
        if (!fresh) {
          at->second.histogram.merge(interval.histogram);
          at->second.length_s = std::max(at->second.length_s, interval.length_s);
        }
      }
    } catch (const std::runtime_error& e) {
      fmt::print(stderr, "cmbench merge-hist: {}: {}\n", path, e.what());
      return kExitUsage;
    }
  }
  std::string text;
  if (to_log) {
    loadgen::HlogFile merged;
    merged.start_epoch_s = start_epoch_s;
    for (auto& [key, interval] : intervals) {
      interval.start_s = static_cast<double>(key.second) / 1000.0 - start_epoch_s;
      merged.intervals.push_back(std::move(interval));
    }
    std::stable_sort(merged.intervals.begin(), merged.intervals.end(),
                     [](const auto& a, const auto& b) { return a.start_s < b.start_s; });
    text = loadgen::format_interval_log(merged);
  } else {
    text = loadgen::format_histogram_file(total);
  }
  if (output.empty()) {
    fmt::print("{}", text);
  } else {
    write_file_atomically(output, text);
  }
  return kExitOk;
}

}  // namespace cmb::harness
