#include "harness/commands.hpp"

#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <thread>

#include "loadgen/report.hpp"
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

int serve_command(const std::string& model, const servers::ServerConfig& config) {
  // Signals are taken by one thread with sigwait, so every other thread
  // (including the model's) runs with them blocked and is never interrupted.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // Shared with the signal thread, which may outlive this function.
  std::shared_ptr<servers::Server> server = servers::make_server(model, config);
  if (net::is_wildcard(server->address()))
    fmt::print(stderr,
               "warning: listening on every interface ({}); use --host 127.0.0.1 to keep "
               "the server local\n",
               server->address().to_string());
  std::thread([server, stop_signals] {
    int signal = 0;
    sigwait(&stop_signals, &signal);
    server->stop();
  }).detach();
  fmt::print("listening on {}\n", server->address().to_string());
  std::fflush(stdout);
  server->run();
  return kExitOk;
}

int load_command(const loadgen::LoadConfig& config, bool json, bool latency_distribution) {
  const loadgen::LoadResult result = loadgen::run_load(config);
  if (json) {
    fmt::print("{}\n", loadgen::to_json(config, result));
  } else {
    loadgen::print_summary(stdout, config, result, latency_distribution);
  }
  return kExitOk;
}

}  // namespace cmb::harness
