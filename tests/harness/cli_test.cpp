// The cmbench binary as users run it: subcommands, output contracts, exit codes.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>

#include "net/socket.hpp"
#include "support/fault_server.hpp"
#include "support/process.hpp"
#include "support/test_client.hpp"

namespace {

using cmb::testing::Child;
using cmb::testing::read_listening_port;
using cmb::testing::run_cmbench;

double json_number(const std::string& json, const std::string& key) {
  std::smatch match;
  if (!std::regex_search(json, match, std::regex("\"" + key + R"(": ?([0-9.]+))"))) return -1;
  return std::stod(match[1]);
}

TEST(Cli, ModelsListsOneModelPerLine) {
  const auto result = run_cmbench({"models"});
  ASSERT_EQ(result.exit_code, 0);
  EXPECT_TRUE(std::regex_search(result.out, std::regex(R"((^|\n)iterative +\S.*\n)")));
  EXPECT_TRUE(std::regex_search(result.out, std::regex(R"((^|\n)thread-per-connection +\S.*\n)")));
}

// The exit report: one JSON line with the counters and the process tree's usage.
const std::regex kExitReport(
    R"(^\{"event":"exit","counters":\{"requests":\d+,"refused":\d+,"timed_out":\d+,)"
    R"("rejected":\d+\},"usage":\{"user_s":[0-9.e-]+,"system_s":[0-9.e-]+,"max_rss_kb":\d+,)"
    R"("voluntary_switches":\d+,"involuntary_switches":\d+\}\}\n$)");

TEST(Cli, ServePrintsOneLineAndItsReportAndExitsZeroOnSigterm) {
  for (int signal : {SIGTERM, SIGINT}) {
    Child server({CMBENCH_BIN, "serve", "--model", "thread-per-connection", "--port", "0"});
    ASSERT_NE(read_listening_port(server), 0);
    ::kill(server.pid(), signal);
    const auto finished = server.wait(std::chrono::seconds(5));
    EXPECT_EQ(finished.exit_code, 0) << "signal " << signal;
    EXPECT_TRUE(std::regex_search(finished.out, kExitReport)) << finished.out;
  }
}

// SIGUSR1: a snapshot of the counters while it runs, one JSON line each time.
TEST(Cli, ServeAnswersSigusr1WithItsCounters) {
  Child server({CMBENCH_BIN, "serve", "--model", "epoll", "--port", "0"});
  const uint16_t port = read_listening_port(server);
  ASSERT_NE(port, 0);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cmb::testing::TestClient(port).get("/"));
  ASSERT_TRUE(cmb::testing::TestClient(port).get("/?bytes=-1"));  // rejected: 400
  ::kill(server.pid(), SIGUSR1);
  EXPECT_EQ(
      server.read_line(),
      R"({"event":"snapshot","counters":{"requests":3,"refused":0,"timed_out":0,"rejected":1}})");
  ASSERT_TRUE(cmb::testing::TestClient(port).get("/"));
  ::kill(server.pid(), SIGUSR1);
  EXPECT_EQ(
      server.read_line(),
      R"({"event":"snapshot","counters":{"requests":4,"refused":0,"timed_out":0,"rejected":1}})");
  ::kill(server.pid(), SIGTERM);
  const auto finished = server.wait(std::chrono::seconds(5));
  EXPECT_EQ(finished.exit_code, 0);
  EXPECT_NE(finished.out.find(R"("requests":4,)"), std::string::npos) << finished.out;
}

// Security default: loopback unless told otherwise, and no warning then.
// (A wildcard bind's warning hangs on net::is_wildcard, checked here without
// binding one: tests stay on loopback.)
TEST(Cli, ServeBindsLoopbackByDefaultAndKnowsWildcards) {
  Child server({CMBENCH_BIN, "serve", "--model", "epoll", "--port", "0"});
  ASSERT_NE(read_listening_port(server), 0);  // "listening on 127.0.0.1:PORT"
  ::kill(server.pid(), SIGTERM);
  const auto finished = server.wait(std::chrono::seconds(5));
  EXPECT_EQ(finished.err, "");
  EXPECT_TRUE(cmb::net::is_wildcard(cmb::net::resolve("0.0.0.0", 0)));
  EXPECT_TRUE(cmb::net::is_wildcard(cmb::net::resolve("::", 0)));
  EXPECT_FALSE(cmb::net::is_wildcard(cmb::net::resolve("127.0.0.1", 0)));
  EXPECT_FALSE(cmb::net::is_wildcard(cmb::net::resolve("::1", 0)));
}

TEST(Cli, ServeRejectsBadLimits) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"serve", "--model", "epoll", "--header-timeout", "0s"},
           {"serve", "--model", "epoll", "--header-timeout", "soon"},
           {"serve", "--model", "epoll", "--max-connections", "0"},
           {"serve", "--model", "epoll", "--max-header-size", "0"}}) {
    const auto result = run_cmbench(args, std::chrono::seconds(10));
    EXPECT_EQ(result.exit_code, 2) << args.back();
    EXPECT_FALSE(result.err.empty()) << args.back();
  }
}

TEST(Cli, ServeRejectsUnknownModel) {
  const auto result = run_cmbench({"serve", "--model", "no-such-model", "--port", "0"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("unknown model 'no-such-model'"), std::string::npos);
}

TEST(Cli, ServeReportsABusyPort) {
  Child first({CMBENCH_BIN, "serve", "--model", "iterative", "--port", "0"});
  const uint16_t port = read_listening_port(first);
  ASSERT_NE(port, 0);
  const auto second =
      run_cmbench({"serve", "--model", "iterative", "--port", std::to_string(port)});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("bind 127.0.0.1:" + std::to_string(port)), std::string::npos)
      << second.err;
}

TEST(Cli, LoadAgainstEachModelCountsRequestsAndNoErrors) {
  for (const char* model : {"iterative", "thread-per-connection"}) {
    Child server({CMBENCH_BIN, "serve", "--model", model, "--port", "0"});
    const uint16_t port = read_listening_port(server);
    ASSERT_NE(port, 0);
    // One connection: the iterative server serves exactly one at a time.
    const auto result = run_cmbench({"load", "http://127.0.0.1:" + std::to_string(port) + "/", "-c",
                                     "1", "-t", "1", "-d", "1s", "--json"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_GT(json_number(result.out, "requests"), 0) << result.out;
    for (const char* key : {"connect", "read", "write", "timeout", "status"})
      EXPECT_EQ(json_number(result.out, key), 0) << key << " in " << result.out;
    for (const char* key : {"duration_s", "rps", "min", "mean", "p50", "p90", "p99", "p999", "max"})
      EXPECT_GE(json_number(result.out, key), 0) << key << " missing in " << result.out;
  }
}

// Both engines count exactly: every request sent is answered and counted
// once, and the server agrees.
TEST(Cli, LoadCountsExactlyWithEitherEngine) {
  for (const char* engine : {"epoll", "io-uring"}) {
    Child server({CMBENCH_BIN, "serve", "--model", "epoll", "--port", "0"});
    const std::string url =
        "http://127.0.0.1:" + std::to_string(read_listening_port(server)) + "/?bytes=100";
    const auto result = run_cmbench({"load", url, "--engine", engine, "-c", "16", "-t", "2",
                                     "--requests", "3000", "--pipeline", "2", "--json"});
    ASSERT_EQ(result.exit_code, 0) << engine << ": " << result.err;
    EXPECT_EQ(json_number(result.out, "requests"), 3000) << engine << ": " << result.out;
    // Every response is the same size: 3000 of them, none torn or read twice.
    const auto bytes = static_cast<uint64_t>(json_number(result.out, "bytes_read"));
    EXPECT_EQ(bytes % 3000, 0u) << engine << ": " << bytes;
    EXPECT_GE(bytes, 3000u * 100) << engine;
    for (const char* key : {"connect", "read", "write", "timeout", "status"})
      EXPECT_EQ(json_number(result.out, key), 0) << engine << ": " << key << " in " << result.out;
  }
}

TEST(Cli, LoadPrintsAWrkLikeSummary) {
  Child server({CMBENCH_BIN, "serve", "--model", "thread-per-connection", "--port", "0"});
  const uint16_t port = read_listening_port(server);
  const auto result = run_cmbench({"load", "http://127.0.0.1:" + std::to_string(port) + "/", "-c",
                                   "4", "-t", "2", "-d", "500ms", "--latency"});
  ASSERT_EQ(result.exit_code, 0);
  EXPECT_NE(result.out.find("2 threads and 4 connections"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("Latency Distribution"), std::string::npos);
  EXPECT_TRUE(std::regex_search(result.out, std::regex(R"(Requests/sec: +[0-9]+\.[0-9]{2})")));
}

TEST(Cli, LoadCountsServerErrorsAndTimeoutsByCause) {
  Child server({CMBENCH_BIN, "serve", "--model", "thread-per-connection", "--port", "0"});
  const std::string base = "http://127.0.0.1:" + std::to_string(read_listening_port(server));
  const auto bad = run_cmbench({"load", base + "/?cpu_us=x", "-c", "2", "-d", "300ms", "--json"});
  EXPECT_GT(json_number(bad.out, "status"), 0) << bad.out;
  const auto slow = run_cmbench(
      {"load", base + "/?sleep_us=500000", "-c", "2", "-d", "1s", "--timeout", "100ms", "--json"});
  EXPECT_GT(json_number(slow.out, "timeout"), 0) << slow.out;
  EXPECT_EQ(json_number(slow.out, "requests"), 0) << slow.out;
  // Timed-out requests stay in the latency figures, at their age (>= 100 ms).
  EXPECT_GE(json_number(slow.out, "p50"), 100'000) << slow.out;
  EXPECT_LT(json_number(slow.out, "p50"), 200'000) << slow.out;
}

TEST(Cli, LoadWritesTimelineAndMergeableHistograms) {
  Child server({CMBENCH_BIN, "serve", "--model", "epoll", "--port", "0"});
  const std::string url = "http://127.0.0.1:" + std::to_string(read_listening_port(server)) + "/";
  const auto dir = std::filesystem::temp_directory_path() / "cmbench-cli-test";
  std::filesystem::create_directories(dir);
  const std::string timeline = (dir / "timeline.csv").string();
  const std::string a = (dir / "a.hist").string(), b = (dir / "b.hist").string();
  const auto first = run_cmbench({"load", url, "-c", "2", "-t", "1", "--requests", "300", "--json",
                                  "--timeline", timeline, "--hist", a});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(json_number(first.out, "requests"), 300);
  const auto second =
      run_cmbench({"load", url, "-c", "2", "-t", "1", "--requests", "200", "--hist", b});
  ASSERT_EQ(second.exit_code, 0) << second.err;

  std::ifstream timeline_in(timeline);
  std::string header;
  std::getline(timeline_in, header);
  EXPECT_EQ(header, "second,requests,rps,p50_us,p99_us,errors");
  std::string row;
  EXPECT_TRUE(static_cast<bool>(std::getline(timeline_in, row)));

  const auto merged = run_cmbench({"merge-hist", a, b});
  ASSERT_EQ(merged.exit_code, 0) << merged.err;
  EXPECT_NE(merged.out.find("Total count = 500]"), std::string::npos) << merged.out;
  const auto bogus = run_cmbench({"merge-hist", timeline});
  EXPECT_EQ(bogus.exit_code, 2);
}

TEST(Cli, LoadOpenLoopReportsBothLatencies) {
  Child server({CMBENCH_BIN, "serve", "--model", "epoll", "--port", "0"});
  const std::string url = "http://127.0.0.1:" + std::to_string(read_listening_port(server)) + "/";
  const auto result =
      run_cmbench({"load", url, "-c", "4", "-t", "2", "-d", "1s", "-R", "200", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("\"uncorrected_latency_us\""), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("\"schedule_lag_us\""), std::string::npos);
  EXPECT_NEAR(json_number(result.out, "achieved"), 200, 30) << result.out;
}

TEST(Cli, LoadRejectsBadInputWithExitTwo) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"load", "ftp://127.0.0.1/"},
           {"load", "http://127.0.0.1:1/"},  // nothing listens
           {"load", "http://127.0.0.1:1/@0"},
           {"load", "http://127.0.0.1:1/a", "http://127.0.0.2:1/b"},
           {"load", "http://127.0.0.1:1/", "--arrival", "bursty"},
           {"load", "http://127.0.0.1:1/", "--engine", "kqueue"},
           {"load", "http://127.0.0.1:1/", "-c", "0"},
           {"load", "http://127.0.0.1:1/", "-d", "soon"},
           {"load"},
           {"bogus-subcommand"}}) {
    const auto result = run_cmbench(args);
    EXPECT_EQ(result.exit_code, 2) << args.back();
    EXPECT_FALSE(result.err.empty());
  }
}

// A peer that answers something other than HTTP: a clear error, exit 2.
TEST(Cli, LoadAgainstANonHttpPeerExitsTwo) {
  cmb::testing::FaultServer garbage(cmb::testing::FaultServer::Mode::kGarbage);
  const auto result = run_cmbench({"load", garbage.url(), "-c", "2", "-d", "300ms"});
  EXPECT_EQ(result.exit_code, 2) << result.out;
  EXPECT_NE(result.err.find("does not answer HTTP/1.x"), std::string::npos) << result.err;
}

// The server dies mid-run: the run still ends on time, counts the errors
// and prints its JSON.
TEST(Cli, LoadSurvivesTheServerDisappearingMidRun) {
  Child server({CMBENCH_BIN, "serve", "--model", "epoll", "--port", "0"});
  const std::string url = "http://127.0.0.1:" + std::to_string(read_listening_port(server)) + "/";
  Child load({CMBENCH_BIN, "load", url, "-c", "4", "-d", "2s", "--timeout", "500ms", "--json"});
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  ::kill(server.pid(), SIGKILL);
  const auto start = std::chrono::steady_clock::now();
  const auto finished = load.wait(std::chrono::seconds(20));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(finished.exit_code, 0) << finished.err;
  EXPECT_GT(json_number(finished.out, "requests"), 0) << finished.out;
  EXPECT_GT(json_number(finished.out, "connect") + json_number(finished.out, "read"), 0)
      << finished.out;
}

}  // namespace
