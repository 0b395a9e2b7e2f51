// The load engine against servers that misbehave on purpose: every error
// cause, timeouts and reconnects, pipelining, exact accounting, open-loop
// rates and coordinated-omission correction. Durations are short and bounded.
// Built twice: engine_test drives the epoll engine, engine_uring_test the
// io-uring one (CMB_TEST_IO_URING), so both pass the same suite.
#include "loadgen/engine.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <numeric>
#include <sstream>
#include <string>

#include "loadgen/report.hpp"
#include "loadgen/worker.hpp"
#include "support/fault_server.hpp"

namespace cmb::loadgen {
namespace {

#ifdef CMB_TEST_IO_URING
constexpr IoEngine kEngine = IoEngine::kIoUring;
#else
constexpr IoEngine kEngine = IoEngine::kEpoll;
#endif

// A load configuration for the engine under test.
LoadConfig engine_config() {
  LoadConfig config;
  config.engine = kEngine;
  return config;
}

using cmb::testing::FaultServer;
using namespace std::chrono_literals;

// The timeout is generous: this shared machine sometimes leaves a thread
// unscheduled for over 100 ms, which a tight timeout would count as an
// error. Only the timeout test shortens it.
LoadConfig config_for(const FaultServer& server, int connections = 2) {
  LoadConfig config = engine_config();
  config.targets = {{parse_url(server.url()), 1}};
  config.connections = connections;
  config.threads = 1;
  config.duration = 400ms;
  config.timeout = 1s;
  return config;
}

bool has_detail(const LoadResult& r, const std::string& part) {
  for (const auto& [what, count] : r.error_details)
    if (what.find(part) != std::string::npos && count > 0) return true;
  return false;
}

TEST(Engine, CountsResetsAsReadErrorsWithTheSystemText) {
  FaultServer server(FaultServer::Mode::kReset);
  const LoadResult r = run_load(config_for(server));
  EXPECT_EQ(r.requests, 0u);
  EXPECT_GT(r.errors.read, 0u);
  EXPECT_TRUE(has_detail(r, "read: Connection reset by peer")) << r.error_details.begin()->first;
}

// The window opens at one instant for every thread: what the server saw
// after it and what the client counted differ by at most the requests in
// flight at either edge, and the client says how many those were.
TEST(Engine, OpensTheMeasuredWindowAtOneInstantForEveryThread) {
  FaultServer server(FaultServer::Mode::kOk);
  LoadConfig config = config_for(server, 8);
  config.threads = 4;
  config.warmup = 200ms;
  std::atomic<int> calls{0};
  uint64_t seen_at_open = 0;
  config.on_window_open = [&] {
    ++calls;
    seen_at_open = server.requests_seen();
  };
  const LoadResult r = run_load(config);
  EXPECT_EQ(calls.load(), 1);
  const uint64_t seen = server.requests_seen() - seen_at_open;
  EXPECT_GT(r.requests, 100u);
  EXPECT_LE(r.in_flight_at_open, 8u);
  EXPECT_LE(r.abandoned, 8u);
  EXPECT_GE(seen + r.in_flight_at_open, r.requests);
  EXPECT_LE(seen, r.requests + r.abandoned);
}

// The window closes at one instant for every thread too, after its end
// and before any connection closes: a server that never answers still has
// each connection's request when the hook runs, and the client counts each
// unfinished then.
TEST(Engine, ClosesTheMeasuredWindowAtOneInstantWithItsConnectionsOpen) {
  FaultServer server(FaultServer::Mode::kSilent);
  LoadConfig config = config_for(server, 4);
  config.threads = 2;
  config.timeout = 5s;
  std::atomic<int> calls{0};
  std::chrono::steady_clock::time_point closed;
  config.on_window_close = [&] {
    ++calls;
    closed = std::chrono::steady_clock::now();
  };
  const auto began = std::chrono::steady_clock::now();
  const LoadResult r = run_load(config);
  EXPECT_EQ(calls.load(), 1);
  EXPECT_GE(closed - began, config.warmup + config.duration);
  EXPECT_EQ(r.unfinished, 4u) << "each connection's request, unanswered as the window closed";
  EXPECT_EQ(r.connections_unanswered, 4u);
}

TEST(Engine, CountsEofMidResponseAsAReadError) {
  FaultServer server(FaultServer::Mode::kEofMidResponse);
  const LoadResult r = run_load(config_for(server));
  EXPECT_GT(r.errors.read, 0u);
  EXPECT_TRUE(has_detail(r, "closed before the response was complete"));
}

TEST(Engine, CountsTimeoutsAndReconnects) {
  FaultServer server(FaultServer::Mode::kSilent);
  LoadConfig config = config_for(server, 1);
  config.timeout = 100ms;
  const LoadResult r = run_load(config);
  // 400 ms at a 100 ms timeout: about four timeouts, each on a new connection.
  EXPECT_GE(r.errors.timeout, 2u);
  EXPECT_LE(r.errors.timeout, 5u);
  EXPECT_GE(server.requests_seen(), r.errors.timeout);
  EXPECT_TRUE(has_detail(r, "timeout: no response"));
  EXPECT_GE(r.latency.percentile(50), 100'000'000u);  // counted at their age (>= 100 ms)
}

TEST(Engine, CountsErrorStatusesByClass) {
  FaultServer server(FaultServer::Mode::kStatus500);
  const LoadResult r = run_load(config_for(server));
  EXPECT_GT(r.requests, 0u);
  EXPECT_EQ(r.errors.status, r.requests);
  EXPECT_TRUE(has_detail(r, "status 5xx"));
}

TEST(Engine, CountsANonHttpPeerAsAReadError) {
  FaultServer server(FaultServer::Mode::kGarbage);
  const LoadResult r = run_load(config_for(server));
  EXPECT_EQ(r.requests, 0u);
  EXPECT_TRUE(has_detail(r, "malformed status line"));
}

TEST(Engine, CountsRefusedConnections) {
  uint16_t port;
  {
    FaultServer gone(FaultServer::Mode::kOk);
    port = gone.port();
  }
  LoadConfig config = engine_config();
  config.targets = {{parse_url("http://127.0.0.1:" + std::to_string(port) + "/"), 1}};
  config.connections = 1;
  config.threads = 1;
  config.duration = 350ms;
  const LoadResult r = run_load(config);
  // Retried every 100 ms, not in a spin.
  EXPECT_GE(r.errors.connect, 2u);
  EXPECT_LE(r.errors.connect, 5u);
  EXPECT_TRUE(has_detail(r, "connect: Connection refused"));
}

TEST(Engine, PipelinesRequestsAndMatchesEveryResponse) {
  FaultServer server(FaultServer::Mode::kOk);
  LoadConfig config = config_for(server, 2);
  config.pipeline = 16;
  const LoadResult r = run_load(config);
  EXPECT_GT(r.requests, 100u);
  EXPECT_EQ(r.errors.total(), 0u) << (r.error_details.empty() ? ""
                                                              : r.error_details.begin()->first);
  EXPECT_LE(r.abandoned, 2u * 16u);
}

// The generator's count equals the server's count, exactly.
TEST(Engine, SendsExactlyTheRequestedNumber) {
  FaultServer server(FaultServer::Mode::kOk);
  LoadConfig config = config_for(server, 8);
  config.threads = 2;
  config.duration = 30s;  // an upper bound; --requests ends the run
  config.max_requests = 2500;
  config.pipeline = 4;
  const LoadResult r = run_load(config);
  EXPECT_EQ(r.requests, 2500u);
  EXPECT_EQ(r.sent, 2500u);
  EXPECT_EQ(r.abandoned, 0u);
  EXPECT_EQ(server.requests_seen(), 2500u);
  EXPECT_LT(r.duration_s, 20.0);
  EXPECT_TRUE(r.slices.empty()) << "a budget's window has no length to slice";
}

TEST(Engine, MixesTargetsByWeight) {
  FaultServer server(FaultServer::Mode::kOk);
  LoadConfig config = config_for(server, 4);
  config.targets = {{parse_url(server.url("/fast")), 9}, {parse_url(server.url("/slow")), 1}};
  config.max_requests = 4000;
  config.duration = 30s;
  const LoadResult r = run_load(config);
  ASSERT_EQ(r.targets.size(), 2u);
  EXPECT_EQ(r.targets[0].requests + r.targets[1].requests, 4000u);
  EXPECT_NEAR(static_cast<double>(r.targets[1].requests), 400.0, 80.0);
}

// With or without the early wake-up before each send, the same schedule.
TEST(Engine, OpenLoopHoldsTheRate) {
  FaultServer server(FaultServer::Mode::kOk);
  for (const auto spin : {std::chrono::nanoseconds(200us), std::chrono::nanoseconds(0)}) {
    LoadConfig config = config_for(server, 4);
    config.rate = 400;
    config.duration = 1s;
    config.max_spin = spin;
    const LoadResult r = run_load(config);
    EXPECT_NEAR(static_cast<double>(r.requests), 400.0, 40.0) << "max_spin " << spin.count();
    EXPECT_EQ(r.uncorrected_latency.count(), r.requests);
    EXPECT_EQ(r.schedule_lag.count(), r.sent);
    // The corrected view also holds what the window closed on, at its age.
    EXPECT_EQ(r.latency.count(), r.requests + r.unfinished);
    EXPECT_LE(r.unfinished, 4u) << "at most one in flight per connection at this rate";
  }
}

// A server that never answers some connections (a pool smaller than the
// connections): their requests are in no response, so only counting what
// the window closed on at its age shows them. Here one connection of two
// gets its first request answered and then nothing; the other is fine.
TEST(Engine, RequestsTheWindowClosedOnCountAtTheirAge) {
  FaultServer server(FaultServer::Mode::kStallOnce, 2s, 10);
  LoadConfig config = config_for(server, 2);
  config.rate = 200;
  config.duration = 1s;
  config.timeout = 10s;
  const LoadResult r = run_load(config);
  EXPECT_GT(r.unfinished, 50u) << "a stalled connection's sends pile up behind its first";
  EXPECT_EQ(r.latency.count(), r.requests + r.unfinished);
  EXPECT_GE(r.latency.percentile(99), 500'000'000u) << "p99 shows the stall (ns)";
}

// An open loop without keep-alive is an open loop of new connections (an
// accept storm at a rate): each connection is opened when its request is
// due, not right after the previous response to sit idle until then, so
// its latency counts the connect and the server's accept.
TEST(Engine, OpenLoopWithoutKeepAliveConnectsWhenEachRequestIsDue) {
  FaultServer server(FaultServer::Mode::kOk);
  LoadConfig config = config_for(server, 1);
  config.rate = 10;  // one request every 100 ms
  config.duration = 1s;
  config.keep_alive = false;
  const LoadResult r = run_load(config);
  EXPECT_GE(r.requests, 8u);
  EXPECT_EQ(r.errors.total(), 0u);
  EXPECT_NEAR(static_cast<double>(r.connect_latency.count()), static_cast<double>(r.requests), 1);
  // Opened early, a connection would wait about 100 ms for its request.
  EXPECT_LT(server.longest_idle_after_accept(), 50ms);
}

// The early wake-up polls at most max_spin per send: at 100 sends/s and
// 200 us that is 2 % of a core, however late this machine's timer is.
TEST(Engine, OpenLoopSpinsOnlyJustBeforeASend) {
  FaultServer server(FaultServer::Mode::kOk);
  LoadConfig config = config_for(server, 4);
  config.rate = 100;
  config.duration = 2s;
  config.max_spin = 200us;
  const LoadResult r = run_load(config);
  EXPECT_NEAR(static_cast<double>(r.requests), 200.0, 20.0);
  EXPECT_LT(r.max_thread_busy(), 0.25) << "the generator thread's CPU share";
}

// A rate below the number of threads still sends (wrk2 rounds it to zero).
TEST(Engine, OpenLoopHonoursARateBelowTheThreadCount) {
  FaultServer server(FaultServer::Mode::kOk);
  LoadConfig config = config_for(server, 4);
  config.threads = 4;
  config.rate = 3;
  config.duration = 2s;
  const LoadResult r = run_load(config);
  EXPECT_GE(r.requests, 5u);
  EXPECT_LE(r.requests, 7u);
}

// A 500 ms stall: the corrected latency charges it to every request that was
// due during the stall; the uncorrected one only to the few in flight.
TEST(Engine, OpenLoopCorrectsForCoordinatedOmission) {
  FaultServer server(FaultServer::Mode::kStallOnce, 500ms, 100);
  LoadConfig config = config_for(server, 2);
  config.rate = 200;
  config.duration = 2s;
  config.timeout = 2s;
  const LoadResult r = run_load(config);
  EXPECT_GE(r.latency.percentile(90), 100'000'000u) << "corrected p90 (ns)";
  EXPECT_LT(r.uncorrected_latency.percentile(90), 50'000'000u) << "uncorrected p90 (ns)";
  EXPECT_GE(r.latency.max(), 400'000'000u);
}

// A stepped ramp in one load: each second of the window achieves its
// step's rate (bound 10 %, for a slower machine; `cmbench load` against
// epoll came within 0.4 %), and on a line ramp corrected latency still
// charges a 500 ms stall to every request due during it.
TEST(Engine, AStepRampHoldsEachStepAndStillSeesAStall) {
  FaultServer server(FaultServer::Mode::kOk);
  LoadConfig config = config_for(server, 4);
  config.ramp = parse_rate_profile("300,600,1200");
  config.ramp.step = 1s;
  config.duration = 3s;
  config.ramp.window = config.duration;
  config.rate = config.ramp.mean();
  const LoadResult r = run_load(config);
  ASSERT_EQ(r.timeline.size(), 3u);
  for (size_t s = 0; s < 3; ++s)
    EXPECT_NEAR(static_cast<double>(r.timeline[s].requests), config.ramp.rates[s],
                0.1 * config.ramp.rates[s])
        << "second " << s;
  // The timeline says what each second offered: the last column.
  std::istringstream rows(format_timeline_csv(config, r));
  std::string line;
  std::getline(rows, line);
  EXPECT_EQ(line.substr(line.rfind(',') + 1), "offered_rps");
  for (size_t s = 0; s < 3 && std::getline(rows, line); ++s)
    EXPECT_EQ(line.substr(line.rfind(',') + 1), fmt::format("{:.1f}", config.ramp.rates[s]));

  FaultServer stalling(FaultServer::Mode::kStallOnce, 500ms, 100);
  LoadConfig stalled = config_for(stalling, 2);
  stalled.ramp = parse_rate_profile("100:300");
  stalled.duration = 2s;
  stalled.ramp.window = stalled.duration;
  stalled.rate = stalled.ramp.mean();
  stalled.timeout = 2s;
  const LoadResult s = run_load(stalled);
  // About 1 request in 6 is due during the stall here (the ramp is slow
  // then), so the tail shows it: p99 waits most of the 500 ms when
  // corrected, and only the two in flight did when not.
  EXPECT_GE(s.latency.percentile(99), 300'000'000u) << "corrected p99 (ns)";
  EXPECT_LT(s.uncorrected_latency.percentile(99), 100'000'000u) << "uncorrected p99 (ns)";
}

TEST(Engine, TimelineHasOneRowPerSecond) {
  FaultServer server(FaultServer::Mode::kOk);
  LoadConfig config = config_for(server, 2);
  config.rate = 100;
  config.duration = 2500ms;
  const LoadResult r = run_load(config);
  ASSERT_GE(r.timeline.size(), 2u);
  ASSERT_LE(r.timeline.size(), 3u);
  uint64_t total = 0;
  for (const auto& s : r.timeline) total += s.requests;
  EXPECT_EQ(total, r.requests);
  EXPECT_NEAR(static_cast<double>(r.timeline[0].requests), 100.0, 15.0);
}

// The last wait of a run wakes at the window's end, and what it reads then
// still counts: in the window's last second, not in a second of its own
// (a 3 s demo point once showed 23 such responses as 23 000 req/s).
TEST(Engine, AResponseReadAfterTheWindowIsInItsLastSecond) {
  using detail::window_second;
  EXPECT_EQ(window_second(3s + 300us, 3s), 2u);
  EXPECT_EQ(window_second(3s, 3s), 2u);
  EXPECT_EQ(window_second(2999ms, 3s), 2u);
  EXPECT_EQ(window_second(1s, 3s), 1u);
  EXPECT_EQ(window_second(-5ms, 3s), 0u);
  EXPECT_EQ(window_second(2500ms + 300us, 2500ms), 2u);
  EXPECT_EQ(window_second(300ms + 300us, 300ms), 0u);

  // A busy closed loop, read to the last moment: one row, at the point's rate.
  FaultServer server(FaultServer::Mode::kOk);
  LoadConfig config = config_for(server, 32);
  config.duration = 1s;
  const LoadResult r = run_load(config);
  ASSERT_GT(r.requests, 0u);
  ASSERT_EQ(r.timeline.size(), 1u);
  EXPECT_EQ(r.timeline[0].requests, r.requests);
  // The window's 20 slices hold every response too.
  ASSERT_EQ(r.slices.size(), kWindowSlices);
  EXPECT_EQ(std::accumulate(r.slices.begin(), r.slices.end(), uint64_t{0}), r.requests);
  EXPECT_EQ(detail::window_slice(1s + 300us, 1s), kWindowSlices - 1);
  EXPECT_EQ(detail::window_slice(500ms, 1s), kWindowSlices / 2);
  EXPECT_EQ(detail::window_slice(-1ms, 1s), 0u);
  // "second,requests,rps,...": the row's rate is the point's.
  std::istringstream rows(format_timeline_csv(config, r));
  std::string header, second, requests, rps;
  std::getline(rows, header);
  std::getline(rows, second, ',');
  std::getline(rows, requests, ',');
  std::getline(rows, rps, ',');
  EXPECT_LE(std::stod(rps), 1.5 * r.rps());
}

TEST(Engine, ThinkTimeSlowsAClosedLoop) {
  FaultServer server(FaultServer::Mode::kOk);
  LoadConfig config = config_for(server, 1);
  config.think = 50ms;
  config.duration = 500ms;
  const LoadResult r = run_load(config);
  EXPECT_GE(r.requests, 7u);
  EXPECT_LE(r.requests, 11u);
}

// A closed loop that thinks 50 ms between requests sleeps nearly all the
// time; polling, its thread spins instead (a spinning thread keeps over
// half a core even with four tests on two cores), and sends as often.
TEST(Engine, BusyPollingNeverSleeps) {
  FaultServer server(FaultServer::Mode::kOk);
  for (const bool busy : {false, true}) {
    LoadConfig config = config_for(server, 1);
    config.think = 50ms;
    config.duration = 500ms;
    config.busy_poll = busy;
    const LoadResult r = run_load(config);
    EXPECT_GE(r.requests, 7u) << "busy_poll " << busy;
    EXPECT_LE(r.requests, 11u) << "busy_poll " << busy;
    if (busy)
      EXPECT_GT(r.max_thread_busy(), 0.2) << "the polling thread's CPU share";
    else
      EXPECT_LT(r.max_thread_busy(), 0.1) << "the sleeping thread's CPU share";
  }
}

TEST(Engine, ReportsItsOwnCpu) {
  FaultServer server(FaultServer::Mode::kOk);
  const LoadResult r = run_load(config_for(server));
  ASSERT_EQ(r.threads.size(), 1u);
  EXPECT_GT(r.threads[0].wall_s, 0.3);
  EXPECT_GE(r.max_thread_busy(), 0.0);
  EXPECT_LE(r.max_thread_busy(), 1.5);
}

// An open loop that sends late charges its lateness to the server: the
// run says so once the lag is large against the latency itself.
TEST(Report, WarnsWhenTheGeneratorSendsLate) {
  LoadConfig config;
  config.rate = 5000;
  LoadResult late;
  for (int i = 0; i < 100; ++i) {
    late.uncorrected_latency.record(200'000);  // 200 us
    late.schedule_lag.record(i < 95 ? 5'000 : 500'000);
  }
  const auto says_late = [](const std::vector<std::string>& warnings) {
    for (const auto& w : warnings)
      if (w.find("the generator sent late") != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(says_late(warnings(config, late)));
  LoadResult on_time;
  for (int i = 0; i < 100; ++i) {
    on_time.uncorrected_latency.record(200'000);
    on_time.schedule_lag.record(5'000);  // 5 us: below the floor and the share
  }
  EXPECT_FALSE(says_late(warnings(config, on_time)));
  config.rate = 0;  // a closed loop has no schedule to be late for
  EXPECT_FALSE(says_late(warnings(config, late)));
}

// A thread busier than 90 % may be the bottleneck; a polling one is always
// busy, so its share says nothing.
TEST(Report, WarnsOfABusyThreadUnlessItPolls) {
  LoadConfig config;
  LoadResult result;
  result.threads.push_back({0.99, 1.0});
  const auto says_busy = [](const std::vector<std::string>& warnings) {
    for (const auto& w : warnings)
      if (w.find("% busy") != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(says_busy(warnings(config, result)));
  config.busy_poll = true;
  EXPECT_FALSE(says_busy(warnings(config, result)));
}

}  // namespace
}  // namespace cmb::loadgen
