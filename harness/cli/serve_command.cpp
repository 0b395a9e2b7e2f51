// `cmbench serve`: one model (or an external server) until SIGINT or SIGTERM,
// its counters on SIGUSR1 and its exit report as JSON lines
// (harness/sweep/server_report.hpp).
#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "harness/base/exit_codes.hpp"
#include "harness/base/proc_stats.hpp"
#include "harness/cli/subcommands.hpp"
#include "harness/sweep/models.hpp"
#include "harness/sweep/server_report.hpp"
#include "loadgen/units.hpp"
#include "net/socket.hpp"
#include "net/uring.hpp"
#include "servers/external.hpp"
#include "servers/registry.hpp"

namespace cmb::harness {
namespace {

// Signals are taken by one thread with sigwait, so every other thread
// (including the model's) runs with them blocked and is never interrupted.
sigset_t block_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

// The model's server or the external one, bound; a port in use says how
// to get a free one, and a server on every interface is warned of.
std::shared_ptr<servers::Server> make_bound_server(
    const std::string& model, const servers::ServerConfig& config,
    const std::optional<servers::ExternalCommand>& external) {
  std::shared_ptr<servers::Server> server;
  try {
    server = external ? servers::make_external_server(config, *external)
                      : servers::make_server(model, config);
  } catch (const std::system_error& e) {
    if (e.code() != std::errc::address_in_use) throw;
    throw std::runtime_error(fmt::format(
        "{} (another process has that port: --port 0 picks a free one and prints it)", e.what()));
  }
  if (net::is_wildcard(server->address()))
    fmt::print(stderr,
               "warning: listening on every interface ({}); use --host 127.0.0.1 to keep "
               "the server local\n",
               server->address().to_string());
  return server;
}

// Lines from several threads: one at a time, whole.
void print_line(const std::string& line) {
  static std::mutex print_mutex;
  std::lock_guard lock(print_mutex);
  fmt::print("{}\n", line);
  std::fflush(stdout);
}

// SIGUSR1: one line with the counters so far, so a harness can difference
// them at the edges of its measured window. SIGINT, SIGTERM: stop. The
// thread shares the server, and may outlive the caller. The server starts
// only once this thread is waiting: a model that forks (prefork,
// fork-per-connection) must not fork while the thread is still starting
// up, or an AddressSanitizer build's child can inherit a lock of the
// sanitizer's held by it, and spin on it for ever.
void answer_signals(std::shared_ptr<servers::Server> server, sigset_t signals) {
  std::promise<void> waiting;
  std::future<void> started = waiting.get_future();
  std::thread([server, signals, waiting = std::move(waiting)]() mutable {
    waiting.set_value();
    for (int signal = 0; sigwait(&signals, &signal) == 0 && signal == SIGUSR1;)
      print_line(format_server_report({"snapshot", servers::read_counters(), {}, {}}));
    server->stop();
  }).detach();
  started.wait();
}

// For a harness on another host (over ssh): a "snapshot" line on stdin is
// answered with the counters and the process tree as the server sees them;
// the end of stdin (the session ended) stops the server.
void answer_stdin(std::shared_ptr<servers::Server> server, TcpCounters tcp_at_start) {
  std::thread([server, tcp_at_start] {
    for (std::string line; std::getline(std::cin, line);)
      if (line == "snapshot")
        print_line(format_server_report(
            {"snapshot", servers::read_counters(), {}, read_own_tree(tcp_at_start)}));
    server->stop();
  }).detach();
}

int serve_command(const std::string& model, const servers::ServerConfig& config,
                  const std::optional<servers::ExternalCommand>& external, bool control_stdin) {
  const sigset_t signals = block_signals();
  // The machine's TCP counters as the server starts: it reports their growth.
  const TcpCounters tcp_at_start = read_tcp_counters(::getpid());
  const std::shared_ptr<servers::Server> server = make_bound_server(model, config, external);
  answer_signals(server, signals);
  if (control_stdin) answer_stdin(server, tcp_at_start);
  fmt::print("{}\n", format_ready_line(server->address().to_string()));
  std::fflush(stdout);
  server->run();
  fmt::print("{}\n", format_server_report({"exit", servers::read_counters(), read_own_usage(),
                                           read_own_tree(tcp_at_start)}));
  std::fflush(stdout);
  return kExitOk;
}

struct ServeOptions {
  std::string model;
  std::string command;
  std::string ready_line;
  servers::ServerConfig config;
  // Shown by --help and the man page: the limits' own default.
  std::string header_timeout = loadgen::format_duration(servers::Limits{}.header_timeout);
  bool control_stdin = false;
  CLI::Option* uring = nullptr;
};

// What is served: a model, or a command line of one's own.
void add_server_flags(CLI::App* serve, ServeOptions& o) {
  auto* model = serve->add_option("--model", o.model, "model name (see `cmbench models`)");
  auto* command =
      serve
          ->add_option("--command", o.command,
                       "run this server instead of a model: a command line with {host}, {port}, "
                       "{address}, {threads}, {dir}, {max_connections}, {header_timeout_ms} "
                       "(docs/models.md, \"External servers\")")
          ->excludes(model);
  serve
      ->add_option("--ready-line", o.ready_line,
                   "with --command: ready once its stdout has a line with this text (and the "
                   "port accepts); default: once the port accepts")
      ->needs(command);
}

void add_socket_flags(CLI::App* serve, ServeOptions& o) {
  serve->add_option("--host", o.config.host, "address to bind")->capture_default_str();
  serve->add_option("--port", o.config.port, "port to bind; 0 picks a free one")
      ->capture_default_str();
  serve
      ->add_option("--threads", o.config.threads,
                   "workers, loops or processes; 0 = the model's default")
      ->check(CLI::NonNegativeNumber);
  serve->add_option("--backlog", o.config.backlog, "listen backlog")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
}

void add_limit_flags(CLI::App* serve, ServeOptions& o) {
  // The limits a client meets (servers/limits.hpp; docs/models.md, "Limits and defaults").
  serve
      ->add_option("--header-timeout", o.header_timeout,
                   "close a connection that completes no request (or reads no response) for this "
                   "long; 408 if it sent part of one")
      ->capture_default_str()
      ->check(duration_check());
  serve
      ->add_option("--max-header-size", o.config.limits.max_header_bytes,
                   "bytes of request line and headers; more is answered 431")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve
      ->add_option("--max-body-size", o.config.limits.max_body_bytes,
                   "bytes of request body; more is answered 413")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  serve
      ->add_option("--max-connections", o.config.limits.max_connections,
                   "open connections per server process; one more is answered 503 and closed")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve->add_flag("--attribution", o.config.limits.attribution,
                  "split each answered request's time into inbound, queued, service and outbound "
                  "(the kernel's receive time on every read; about half a microsecond a request)");
  o.uring = serve
                ->add_option("--uring", o.config.uring,
                             "the io-uring model's ring: defer-taskrun, coop-taskrun, sqpoll "
                             "or plain (docs/models.md, \"io_uring settings\")")
                ->capture_default_str()
                ->check(CLI::IsMember(net::uring_setup_names()));
}

// For `cmbench run`, not for people.
void add_harness_flags(CLI::App* serve, ServeOptions& o) {
  serve
      ->add_flag("--control-stdin", o.control_stdin,
                 "answer a `snapshot` line on stdin with the counters and the process tree; stop "
                 "when stdin ends (for a harness on another host)")
      ->group("");
  serve
      ->add_option("--counters-fd", o.config.counters_fd,
                   "keep the server's counters in this inherited memfd (for a harness that maps "
                   "it)")
      ->group("");
}

// The flags into a server's config. What cannot be done throws
// UsageError: main says so, exit 2.
std::optional<servers::ExternalCommand> apply_serve_options(ServeOptions& o) {
  o.config.limits.header_timeout =
      std::chrono::ceil<std::chrono::milliseconds>(loadgen::parse_duration(o.header_timeout));
  if (o.config.limits.header_timeout.count() <= 0)
    throw UsageError("--header-timeout must be positive");
  if (o.model.empty() == o.command.empty()) throw UsageError("give --model NAME or --command LINE");
  if (o.uring->count() > 0 && o.model != kRingModel)
    throw UsageError(fmt::format("--uring sets up the {} model's ring only", kRingModel));
  std::optional<servers::ExternalCommand> external;
  if (!o.command.empty()) {
    external.emplace();
    external->argv = servers::split_command_line(o.command);  // std::invalid_argument: exit 2
    external->ready_line = o.ready_line;
  }
  return external;
}

}  // namespace

void add_serve(CLI::App& app, const ExitCode& exit_code) {
  auto* serve = app.add_subcommand("serve", "run one model until SIGINT or SIGTERM");
  auto o = std::make_shared<ServeOptions>();
  add_server_flags(serve, *o);
  add_socket_flags(serve, *o);
  add_limit_flags(serve, *o);
  add_harness_flags(serve, *o);
  serve->callback([o, exit_code] {
    const std::optional<servers::ExternalCommand> external = apply_serve_options(*o);
    *exit_code = serve_command(o->model, o->config, external, o->control_stdin);
  });
}

}  // namespace cmb::harness
