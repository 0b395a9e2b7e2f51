// The formats that cross a process boundary, each written and read back by
// the code on both sides: the agent's result line, the agent's arguments
// against `load`'s own flags, `serve`'s readiness line and reports, and the
// argv a ServerProcess gives `serve`.
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "harness/cli/subcommands.hpp"
#include "harness/hosts/agents.hpp"
#include "harness/sweep/server_process.hpp"
#include "harness/sweep/server_report.hpp"
#include "loadgen/url.hpp"

namespace {

using namespace cmb::harness;
using namespace std::chrono_literals;
namespace loadgen = cmb::loadgen;

loadgen::LoadResult busy_result() {
  loadgen::LoadResult r;
  r.requests = 1234;
  r.sent = 1240;
  r.abandoned = 6;
  r.in_flight_at_open = 3;
  r.answered_ns = 9'876'543'210;
  r.duration_s = 2.5;
  r.bytes_read = 987654;
  uint64_t n = 1;
  for (const auto& cause : loadgen::kErrorCauses) r.errors.*cause.count = n++;
  r.error_details = {{"connect: Connection refused", 1}, {"status 5xx", 5}};
  for (uint64_t v : {1'000u, 25'000u, 1'000'000u, 3'000'000'000u}) {
    r.latency.record(v);
    r.uncorrected_latency.record(v / 2);
    r.schedule_lag.record(v / 10 + 1);
    r.connect_latency.record(v / 3 + 1);
  }
  r.targets.resize(2);
  r.targets[1].requests = 7;
  r.targets[1].latency.record(4242);
  r.timeline.resize(2);
  r.timeline[1].requests = 600;
  r.timeline[1].errors = 2;
  r.timeline[1].latency.record(77'000);
  r.slices = {5, 0, 7};
  r.intervals.resize(1);
  r.intervals[0].latency.record(5'000);
  r.window_start_epoch_s = 1764700000.123456;
  r.threads = {{0.5, 2.5}, {1.25, 2.5}};
  r.cpu_user_s = 1.5;
  r.cpu_system_s = 0.25;
  r.idle_open = 10;
  r.idle_failed = 1;
  r.idle_closed = 2;
  r.idle_error = "connect: Cannot assign requested address";
  return r;
}

template <typename Histogram>
void expect_same(const Histogram& a, const Histogram& b, const char* what) {
  EXPECT_EQ(a.count(), b.count()) << what;
  EXPECT_EQ(a.min(), b.min()) << what;
  EXPECT_EQ(a.max(), b.max()) << what;
  for (double p : {50.0, 99.0, 99.99}) EXPECT_EQ(a.percentile(p), b.percentile(p)) << what;
}

TEST(Formats, AnAgentsResultLineReadsBackWhole) {
  const loadgen::LoadResult sent = busy_result();
  const std::string line = agent_result_json(sent);
  EXPECT_EQ(line.find('\n'), std::string::npos) << "one line";
  const loadgen::LoadResult got = parse_agent_result(line);
  EXPECT_EQ(got.requests, sent.requests);
  EXPECT_EQ(got.sent, sent.sent);
  EXPECT_EQ(got.abandoned, sent.abandoned);
  EXPECT_EQ(got.in_flight_at_open, sent.in_flight_at_open);
  EXPECT_EQ(got.answered_ns, sent.answered_ns);
  EXPECT_EQ(got.duration_s, sent.duration_s);
  EXPECT_EQ(got.bytes_read, sent.bytes_read);
  for (const auto& cause : loadgen::kErrorCauses)
    EXPECT_EQ(got.errors.*cause.count, sent.errors.*cause.count) << cause.name;
  EXPECT_EQ(got.error_details, sent.error_details);
  expect_same(got.latency, sent.latency, "latency");
  expect_same(got.uncorrected_latency, sent.uncorrected_latency, "uncorrected");
  expect_same(got.schedule_lag, sent.schedule_lag, "schedule lag");
  expect_same(got.connect_latency, sent.connect_latency, "connect");
  ASSERT_EQ(got.targets.size(), 2u);
  EXPECT_EQ(got.targets[1].requests, 7u);
  expect_same(got.targets[1].latency, sent.targets[1].latency, "target");
  ASSERT_EQ(got.timeline.size(), 2u);
  EXPECT_EQ(got.timeline[1].requests, 600u);
  EXPECT_EQ(got.timeline[1].errors, 2u);
  expect_same(got.timeline[1].latency, sent.timeline[1].latency, "timeline");
  EXPECT_EQ(got.slices, sent.slices);
  ASSERT_EQ(got.intervals.size(), 1u);
  expect_same(got.intervals[0].latency, sent.intervals[0].latency, "interval");
  EXPECT_DOUBLE_EQ(got.window_start_epoch_s, sent.window_start_epoch_s);
  ASSERT_EQ(got.threads.size(), 2u);
  EXPECT_EQ(got.threads[1].cpu_s, 1.25);
  EXPECT_EQ(got.cpu_user_s, sent.cpu_user_s);
  EXPECT_EQ(got.cpu_system_s, sent.cpu_system_s);
  EXPECT_EQ(got.idle_open, sent.idle_open);
  EXPECT_EQ(got.idle_failed, sent.idle_failed);
  EXPECT_EQ(got.idle_closed, sent.idle_closed);
  EXPECT_EQ(got.idle_error, sent.idle_error);
  EXPECT_THROW(parse_agent_result("{\"requests\": 1}"), std::runtime_error);
  EXPECT_THROW(parse_agent_result("ready"), std::runtime_error);
}

// `load`'s own flag definitions read the arguments an agent is started with:
// the whole LoadConfig, through the one table that writes and reads it.
loadgen::LoadConfig as_load_parses(const std::vector<std::string>& arguments) {
  CLI::App app;
  auto* load = app.add_subcommand("load");
  const auto flags = add_load_flags(*load);
  std::vector<std::string> args = arguments;
  args.insert(args.begin(), "load");
  std::reverse(args.begin(), args.end());
  app.parse(args);
  return load_config(*flags);
}

TEST(Formats, AnAgentsArgumentsCarryTheWholeLoad) {
  loadgen::LoadConfig config;
  config.targets = {{loadgen::parse_url("http://127.0.0.1:8080/?sleep_us=10"), 3},
                    {loadgen::parse_url("http://127.0.0.1:8080/"), 1}};
  config.connections = 64;
  config.threads = 3;
  config.timeout = 1500ms;
  config.pipeline = 4;
  config.duration = 7s;
  config.warmup = 250ms;
  config.rate = 12345.5;
  config.arrival = loadgen::Arrival::kPoisson;
  config.max_spin = 150us;
  config.think = 2ms;
  config.keep_alive = false;
  config.busy_poll = true;
  config.idle_connections = 100;
  config.cpus = {1, 0};
  config.interval_histograms = true;
  const loadgen::LoadConfig got = as_load_parses(agent_arguments(config, 1, 3));
  ASSERT_EQ(got.targets.size(), 2u);
  EXPECT_EQ(got.targets[0].url.to_string(), config.targets[0].url.to_string());
  EXPECT_EQ(got.targets[0].weight, 3u);
  EXPECT_EQ(got.targets[1].weight, 1u);
  EXPECT_EQ(got.connections, config.connections);
  EXPECT_EQ(got.threads, config.threads);
  EXPECT_EQ(got.timeout, config.timeout);
  EXPECT_EQ(got.pipeline, config.pipeline);
  EXPECT_EQ(got.duration, config.duration);
  EXPECT_EQ(got.warmup, config.warmup);
  EXPECT_EQ(got.rate, config.rate);
  EXPECT_EQ(got.arrival, config.arrival);
  EXPECT_EQ(got.max_spin, config.max_spin);
  EXPECT_EQ(got.think, config.think);
  EXPECT_EQ(got.keep_alive, config.keep_alive);
  EXPECT_EQ(got.busy_poll, config.busy_poll);
  EXPECT_EQ(got.idle_connections, config.idle_connections);
  EXPECT_EQ(got.cpus, config.cpus);
  EXPECT_EQ(got.interval_histograms, config.interval_histograms);
  EXPECT_EQ(got.segment, 1);
  EXPECT_EQ(got.segments, 3);
  EXPECT_EQ(got.engine, loadgen::IoEngine::kEpoll);

  // A budget of requests instead of a duration, closed loop, one URL.
  loadgen::LoadConfig budget;
  budget.targets = {{loadgen::parse_url("http://[::1]:9/x"), 1}};
  budget.max_requests = 5000;
  const loadgen::LoadConfig got_budget = as_load_parses(agent_arguments(budget, 0, 1));
  EXPECT_EQ(got_budget.max_requests, 5000u);
  EXPECT_EQ(got_budget.rate, 0);
  EXPECT_EQ(got_budget.targets[0].url.to_string(), "http://[::1]:9/x");
  EXPECT_TRUE(got_budget.keep_alive);

  // Ramps: a line, and steps with their length.
  for (const char* rates : {"1000:20000", "1000,2000,4000"}) {
    loadgen::LoadConfig ramp = budget;
    ramp.max_requests = 0;
    ramp.duration = 6s;
    ramp.ramp = loadgen::parse_rate_profile(rates);
    ramp.ramp.step = 2s;
    ramp.ramp.window = ramp.duration;
    ramp.rate = ramp.ramp.mean();
    const loadgen::LoadConfig got_ramp = as_load_parses(agent_arguments(ramp, 0, 1));
    EXPECT_EQ(got_ramp.ramp.rates, ramp.ramp.rates) << rates;
    EXPECT_EQ(got_ramp.ramp.linear, ramp.ramp.linear) << rates;
    EXPECT_EQ(got_ramp.ramp.window, 6s) << rates;
    if (!ramp.ramp.linear) {
      EXPECT_EQ(got_ramp.ramp.step, 2s);
    }
    EXPECT_DOUBLE_EQ(got_ramp.rate, ramp.rate) << rates;
  }
}

TEST(Formats, TheReadinessLineNamesItsPort) {
  EXPECT_EQ(parse_ready_line(format_ready_line("127.0.0.1:8080")), 8080);
  EXPECT_EQ(parse_ready_line(format_ready_line("[::1]:9")), 9);
  EXPECT_EQ(parse_ready_line(format_ready_line("198.18.0.1:65535")), 65535);
  for (const char* line : {"", "listening on", "listening on 127.0.0.1", "listening on 1.2.3.4:",
                           "listening on 1.2.3.4:0", "listening on 1.2.3.4:70000",
                           "listening on 1.2.3.4:80x", "hello 1.2.3.4:80"})
    EXPECT_FALSE(parse_ready_line(line).has_value()) << line;
}

TEST(Formats, ServerReportsReadBackWhole) {
  ServerReport snapshot;
  snapshot.event = "snapshot";
  snapshot.counters.requests = 11;
  snapshot.counters.refused = 2;
  snapshot.counters.timed_out = 3;
  snapshot.counters.rejected = 4;
  snapshot.counters.accepted = 9;
  auto& service = snapshot.counters.stages[static_cast<size_t>(cmb::servers::Stage::kService)];
  service.record(10'000'000);
  service.record(12'000'000);
  const auto got = parse_server_report(format_server_report(snapshot));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->event, "snapshot");
  EXPECT_EQ(got->counters.requests, 11u);
  EXPECT_EQ(got->counters.refused, 2u);
  EXPECT_EQ(got->counters.timed_out, 3u);
  EXPECT_EQ(got->counters.rejected, 4u);
  EXPECT_EQ(got->counters.accepted, 9u);
  // The stages' histograms, whole: a server over ssh or in a namespace
  // reports its split this way.
  const auto& back_service =
      got->counters.stages[static_cast<size_t>(cmb::servers::Stage::kService)];
  EXPECT_EQ(back_service.count, 2u);
  EXPECT_EQ(back_service.sum_ns, 22'000'000u);
  EXPECT_EQ(back_service.buckets, service.buckets);
  EXPECT_EQ(got->counters.stages[static_cast<size_t>(cmb::servers::Stage::kQueued)].count, 0u);
  EXPECT_FALSE(got->usage.has_value());
  EXPECT_FALSE(got->tree.has_value());

  ServerReport exit = snapshot;
  exit.event = "exit";
  exit.usage = ProcessUsage{1.5, 0.25, 4096, 10, 20};
  TreeFigures tree;
  tree.cpu = {2.5, 0.5};
  tree.memory = {8192, 5, 2};
  tree.voluntary_switches = 30;
  tree.involuntary_switches = 40;
  tree.tcp = {1, 2, 3, 4};
  exit.tree = tree;
  const auto back = parse_server_report(format_server_report(exit));
  ASSERT_TRUE(back.has_value());
  ASSERT_TRUE(back->usage && back->tree);
  EXPECT_EQ(back->usage->user_s, 1.5);
  EXPECT_EQ(back->usage->max_rss_kb, 4096u);
  EXPECT_EQ(back->usage->involuntary_switches, 20u);
  EXPECT_EQ(back->tree->cpu.user_s, 2.5);
  EXPECT_EQ(back->tree->memory.rss_kb, 8192u);
  EXPECT_EQ(back->tree->memory.threads, 5);
  EXPECT_EQ(back->tree->memory.processes, 2);
  EXPECT_EQ(back->tree->voluntary_switches, 30u);
  EXPECT_EQ(back->tree->tcp.listen_drops, 2u);
  EXPECT_EQ(back->tree->tcp.resets, 4u);
  EXPECT_FALSE(parse_server_report("listening on 127.0.0.1:1").has_value());
  EXPECT_FALSE(parse_server_report("{\"event\":1}").has_value());
}

// Every flag a ServerProcess gives `serve` is one `serve` takes: the
// server starts (its readiness line read back) and stops with its report.
TEST(Formats, AServerProcessArgvIsServesOwnFlags) {
  ServerProcess::Options options;
  options.binary = CMBENCH_BIN;
  options.model = "thread-pool";
  options.threads = 3;
  options.cpus = {0};
  options.header_timeout = 1500ms;
  options.max_connections = 7;
  ServerProcess server(options);
  EXPECT_GT(server.port(), 0);
  EXPECT_TRUE(server.snapshot().has_value());
  EXPECT_EQ(server.stop(), "exited with status 0");
  ASSERT_TRUE(server.exit_report().has_value());
  EXPECT_EQ(server.exit_report()->event, "exit");
}

// A server that exits before its readiness line is reported by how it
// exited, not as a timeout: its output ends before it is reaped, and that
// race once said "no readiness line within 10000 ms" one time in three.
TEST(Formats, AServerThatQuitsBeforeItIsReadySaysHowItExited) {
  ServerProcess::Options options;
  options.binary = CMBENCH_BIN;
  options.model = "quits";
  options.command = "/bin/false";
  for (int i = 0; i < 5; ++i) {
    try {
      ServerProcess server(options);
      ADD_FAILURE() << "/bin/false became ready";
    } catch (const std::runtime_error& e) {
      // In serve's words, which name the command: not serve's own status.
      EXPECT_NE(std::string(e.what()).find("did not start: /bin/false exited with status 1 before "
                                           "it was ready"),
                std::string::npos)
          << e.what();
    }
  }
}

}  // namespace
