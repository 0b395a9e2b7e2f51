// The cmbench binary as users run it: subcommands, output contracts, exit codes.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "net/socket.hpp"
#include "support/fault_server.hpp"
#include "support/process.hpp"
#include "support/test_client.hpp"

namespace {

using namespace std::chrono_literals;
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

// The exit report: one JSON line with the counters, the usage getrusage gives
// and the process tree as the server sees it (threads and processes alive).
const std::regex kExitReport(
    R"(^\{"event":"exit","counters":\{"requests":\d+,"refused":\d+,"timed_out":\d+,)"
    R"("rejected":\d+,"accepted":\d+,"accepted_by_thread":\[[0-9,]*\],"stages":\{)"
    R"re(("(inbound|queued|service|outbound)":\{"count":\d+,"sum_ns":\d+,)re"
    R"re("buckets":\[[\[\]0-9,]*\],"waiting":\d+,"waiting_age_ns":\d+\},?){4}\}\},)re"
    R"("usage":\{"user_s":[0-9.e-]+,"system_s":[0-9.e-]+,"max_rss_kb":\d+,)"
    R"("voluntary_switches":\d+,"involuntary_switches":\d+\},"tree":\{"user_s":[0-9.e-]+,)"
    R"("system_s":[0-9.e-]+,"rss_kb":\d+,"threads":[1-9]\d*,"processes":[1-9]\d*,)"
    R"("voluntary_switches":\d+,"involuntary_switches":\d+,"listen_overflows":\d+,)"
    R"("listen_drops":\d+,"retransmits":\d+,"resets":\d+\}\}\n$)");

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
  Child server({CMBENCH_BIN, "serve", "--model", "epoll", "--port", "0", "--attribution"});
  const uint16_t port = read_listening_port(server);
  ASSERT_NE(port, 0);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cmb::testing::TestClient(port).get("/"));
  ASSERT_TRUE(cmb::testing::TestClient(port).get("/?bytes=-1"));  // rejected: 400
  ::kill(server.pid(), SIGUSR1);
  // Its one loop accepted the four connections; the three answered
  // requests have their stages, the rejected one none.
  const std::string counters =
      R"({"event":"snapshot","counters":{"requests":3,"refused":0,"timed_out":0,)"
      R"("rejected":1,"accepted":4,"accepted_by_thread":[4],"stages":)";
  std::string line = server.read_line();
  EXPECT_EQ(line.substr(0, counters.size()), counters);
  // Parsed into a local: a range-for over a temporary's member would read it freed.
  const auto snapshot = nlohmann::json::parse(line);
  for (const auto& [name, stage] : snapshot["counters"]["stages"].items())
    EXPECT_EQ(stage["count"], 3) << name;
  ASSERT_TRUE(cmb::testing::TestClient(port).get("/"));
  ::kill(server.pid(), SIGUSR1);
  line = server.read_line();
  EXPECT_NE(line.find(R"("requests":4,"refused":0,"timed_out":0,"rejected":1,"accepted":5,)"),
            std::string::npos)
      << line;
  EXPECT_EQ(nlohmann::json::parse(line)["counters"]["stages"]["service"]["count"], 4);
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

// A ramp that cannot be is named before anything is sent.
TEST(Cli, LoadRefusesARampThatCannotBe) {
  for (const auto& [args, says] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"-R", "1,2"}, "give --step"},
           {{"-R", "100", "--step", "1s"}, "--step goes with -R A,B,C"},
           {{"-R", "1:x"}, "'x' is not a positive number"},
           {{"-R", "1:2:3"}, "a line has two ends"}}) {
    std::vector<std::string> command{"load", "http://127.0.0.1:9/"};
    command.insert(command.end(), args.begin(), args.end());
    const auto result = run_cmbench(command, std::chrono::seconds(10));
    EXPECT_EQ(result.exit_code, 2) << args[1];
    EXPECT_NE(result.err.find(says), std::string::npos) << result.err;
  }
}

// `cmbench` alone says where to start, as a usage error.
TEST(Cli, NoArgumentsPrintAShortUsage) {
  const auto result = run_cmbench({}, std::chrono::seconds(10));
  EXPECT_EQ(result.exit_code, 2);
  for (const char* start : {"cmbench run ", "cmbench models", "cmbench load", "--help"})
    EXPECT_NE(result.out.find(start), std::string::npos) << start << "\n" << result.out;
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
  EXPECT_NE(second.err.find("--port 0 picks a free one"), std::string::npos) << second.err;
}

TEST(Cli, AMistypedCommandGetsASuggestion) {
  const auto result = run_cmbench({"rnu"}, std::chrono::seconds(10));
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("unknown command 'rnu' (did you mean run?)"), std::string::npos)
      << result.err;
  EXPECT_EQ(run_cmbench({"xyzzy"}, std::chrono::seconds(10)).err.find("did you mean"),
            std::string::npos);
}

// The help and the man page say what the flags do, and list no internal
// command: one --help does not show (clock), and a flag's help has no empty
// "Excludes:" for a hidden flag it excludes.
TEST(Cli, HelpAndManPageSayWhatTheFlagsDo) {
  const auto man = run_cmbench({"--man"}, std::chrono::seconds(10));
  ASSERT_EQ(man.exit_code, 0);
  EXPECT_EQ(man.out.find("cmbench clock"), std::string::npos);
  EXPECT_NE(man.out.find("\\fI/usr/share/cmbench/scenarios/*.toml\\fR"), std::string::npos);
  const auto run_help = run_cmbench({"run", "--help"}, std::chrono::seconds(10)).out;
  EXPECT_TRUE(
      std::regex_search(run_help, std::regex(R"(--keepalive[^\n]*\n? *keep-alive connections)")))
      << run_help;
  const auto load_help = run_cmbench({"load", "--help"}, std::chrono::seconds(10)).out;
  EXPECT_FALSE(std::regex_search(load_help, std::regex(R"(Excludes: *\n)"))) << load_help;
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

// Idle connections connect before the run and never send: held to the end
// while the active ones are served, and the report says how many the
// server closed -- none here, all of them when its header timeout is
// shorter than the run.
TEST(Cli, LoadHoldsIdleConnectionsAndSaysWhichTheServerClosed) {
  for (const char* timeout : {"10s", "200ms"}) {
    Child server(
        {CMBENCH_BIN, "serve", "--model", "epoll", "--port", "0", "--header-timeout", timeout});
    const uint16_t port = read_listening_port(server);
    ASSERT_NE(port, 0);
    const auto result =
        run_cmbench({"load", "http://127.0.0.1:" + std::to_string(port) + "/", "-c", "2", "-t", "1",
                     "-d", "600ms", "--idle-connections", "300", "--json"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_GT(json_number(result.out, "requests"), 0) << result.out;
    EXPECT_EQ(json_number(result.out, "asked"), 300) << result.out;
    EXPECT_EQ(json_number(result.out, "open"), 300) << result.out;
    EXPECT_EQ(json_number(result.out, "failed"), 0) << result.out;
    EXPECT_EQ(json_number(result.out, "closed_by_server"), std::string(timeout) == "10s" ? 0 : 300)
        << timeout << ": " << result.out;
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

// Two agents, each with its segment of one load (k6's execution segments),
// started at one instant: their requests add up to the total exactly, each
// has its share of the connections, and their windows open together.
TEST(Cli, AgentsShareOneLoadBySegmentAndStartTogether) {
  Child server({CMBENCH_BIN, "serve", "--model", "epoll", "--port", "0"});
  const std::string url = "http://127.0.0.1:" + std::to_string(read_listening_port(server)) + "/";
  const auto start_at = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::system_clock::now().time_since_epoch() + 700ms)
                            .count();
  std::vector<std::unique_ptr<Child>> agents;
  for (const char* segment : {"1/2", "2/2"})
    agents.push_back(std::make_unique<Child>(std::vector<std::string>{
        CMBENCH_BIN, "load", url, "-c", "5", "-t", "2", "--requests", "3001", "--segment", segment,
        "--start-at", std::to_string(start_at), "--json"}));
  std::vector<std::string> outputs;
  for (auto& agent : agents) {
    const auto finished = agent->wait(20s);
    ASSERT_EQ(finished.exit_code, 0) << finished.err;
    outputs.push_back(finished.out);
  }
  EXPECT_EQ(json_number(outputs[0], "requests"), 1501) << outputs[0];
  EXPECT_EQ(json_number(outputs[1], "requests"), 1500) << outputs[1];
  EXPECT_NE(outputs[0].find(R"("segment":{"k":1,"n":2,"connections":3,)"), std::string::npos)
      << outputs[0];
  EXPECT_NE(outputs[1].find(R"("segment":{"k":2,"n":2,"connections":2,)"), std::string::npos)
      << outputs[1];
  const double start_s = static_cast<double>(start_at) / 1e9;
  for (const auto& out : outputs) {
    const double opened = json_number(out, "window_start_epoch_s");
    EXPECT_GE(opened, start_s - 0.001) << out;
    EXPECT_LT(opened, start_s + 0.1) << out;  // kStartAtSlack
  }
  // An instant long past is refused, not run late.
  const auto late = run_cmbench(
      {"load", url, "--requests", "10", "--start-at", std::to_string(start_at - 10'000'000'000)});
  EXPECT_EQ(late.exit_code, 1);
  EXPECT_NE(late.err.find("after its --start-at"), std::string::npos) << late.err;
  for (const char* bad : {"0/2", "3/2", "1/0", "1", "a/b", "1/2/3"}) {
    const auto result = run_cmbench({"load", url, "--segment", bad});
    EXPECT_EQ(result.exit_code, 2) << bad;
    EXPECT_NE(result.err.find("K/N"), std::string::npos) << bad << ": " << result.err;
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

// --server-pid: where the time went inside a `cmbench serve` on this
// machine, read from its own counters at the window's edges.
TEST(Cli, LoadShowsWhereTheTimeWentInsideTheServer) {
  Child server({CMBENCH_BIN, "serve", "--model", "epoll", "--port", "0", "--attribution"});
  const std::string url =
      "http://127.0.0.1:" + std::to_string(read_listening_port(server)) + "/?sleep_us=2000";
  const std::string pid = std::to_string(server.pid());
  const auto result = run_cmbench(
      {"load", url, "-c", "1", "-d", "500ms", "--warmup", "100ms", "--server-pid", pid, "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto json = nlohmann::json::parse(result.out);
  const auto& stages = json.at("server_stages");
  const uint64_t requests = json.at("requests");
  for (const char* stage : {"inbound", "queued", "service", "outbound"}) {
    // Within the one request in flight at each edge of the window.
    EXPECT_NEAR(static_cast<double>(stages.at(stage).at("count").get<uint64_t>()),
                static_cast<double>(requests), 2)
        << stage;
  }
  EXPECT_GE(stages.at("service").at("mean_us").get<double>(), 2000);
  EXPECT_LT(std::abs(stages.at("unaccounted_mean_us").get<double>()), 2000);
  const auto text = run_cmbench({"load", url, "-c", "1", "-d", "300ms", "--server-pid", pid});
  EXPECT_NE(text.out.find("Inside the server (means of the answered):"), std::string::npos)
      << text.out;
  // A server without --attribution records no stages: said, not zeros.
  Child plain({CMBENCH_BIN, "serve", "--model", "epoll", "--port", "0"});
  const std::string plain_url = "http://127.0.0.1:" + std::to_string(read_listening_port(plain));
  const auto unsplit = run_cmbench(
      {"load", plain_url, "-c", "1", "-d", "200ms", "--server-pid", std::to_string(plain.pid())});
  EXPECT_NE(unsplit.out.find("no stages recorded: start the server with `cmbench serve "
                             "--attribution`"),
            std::string::npos)
      << unsplit.out;
  EXPECT_FALSE(
      std::regex_search(unsplit.out, std::regex(R"(Inside the server[^\n]*\n[^\n]*0\.00us)")))
      << unsplit.out;
  // PID 1 is no cmbench server: a usage error naming why.
  const auto wrong = run_cmbench({"load", url, "-c", "1", "-d", "300ms", "--server-pid", "1"});
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_NE(wrong.err.find("no cmbench counters"), std::string::npos) << wrong.err;
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
  EXPECT_EQ(header, "second,requests,rps,p50_us,p99_us,errors,offered_rps");
  std::string row;
  EXPECT_TRUE(static_cast<bool>(std::getline(timeline_in, row)));

  const auto merged = run_cmbench({"merge-hist", a, b});
  ASSERT_EQ(merged.exit_code, 0) << merged.err;
  EXPECT_NE(merged.out.find("Total count = 500]"), std::string::npos) << merged.out;
  const auto bogus = run_cmbench({"merge-hist", timeline});
  EXPECT_EQ(bogus.exit_code, 2);
}

// HdrHistogram's own reader (Java, Debian's libhdrhistogram-java) decodes
// what `cmbench load --hlog` writes to the same count and percentiles as
// cmbench's own --json, within the histogram's precision. --requests makes
// the count exact, so p x count is a whole rank for both.
constexpr const char* kHdrHistogramJar = "/usr/share/java/hdrhistogram.jar";
constexpr const char* kJava = "/usr/bin/java";

TEST(Cli, LoadHlogReadsBackInHdrHistogramsOwnLogProcessor) {
  if (!std::filesystem::exists(kJava) || !std::filesystem::exists(kHdrHistogramJar))
    GTEST_SKIP() << "needs default-jre-headless and libhdrhistogram-java (scripts/deps)";
  Child server({CMBENCH_BIN, "serve", "--model", "epoll", "--port", "0"});
  const std::string url =
      "http://127.0.0.1:" + std::to_string(read_listening_port(server)) + "/?cpu_us=50@3";
  const std::string slow = url.substr(0, url.find('?')) + "?sleep_us=2000@1";
  const auto dir = std::filesystem::temp_directory_path() / "cmbench-hlog-test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string hlog = (dir / "run.hlog").string();
  const auto load = run_cmbench(
      {"load", url, slow, "-c", "4", "-t", "2", "--requests", "2000", "--json", "--hlog", hlog});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  ASSERT_EQ(json_number(load.out, "requests"), 2000) << load.out;

  const std::string out = (dir / "processed").string();
  auto java = Child({kJava, "-cp", kHdrHistogramJar, "org.HdrHistogram.HistogramLogProcessor", "-i",
                     hlog, "-o", out, "-csv", "-outputValueUnitRatio", "1000"})
                  .wait(std::chrono::seconds(60));
  ASSERT_EQ(java.exit_code, 0) << java.out << java.err;
  // One CSV line per interval; the last holds the totals in microseconds:
  // Timestamp, Int_Count, Int_50%, Int_90%, Int_Max, Total_Count, Total_50%,
  // Total_90%, Total_99%, Total_99.9%, Total_99.99%, Total_Max.
  std::ifstream in(out);
  std::string line, last;
  double interval_counts = 0;
  int intervals = 0;
  std::getline(in, line);  // the legend
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line[0] == '"') continue;
    std::vector<double> fields;
    std::stringstream cells(line);
    for (std::string cell; std::getline(cells, cell, ',');) fields.push_back(std::stod(cell));
    ASSERT_EQ(fields.size(), 12u) << line;
    interval_counts += fields[1];
    ++intervals;
    last = line;
  }
  ASSERT_GT(intervals, 0);
  std::vector<double> total;
  std::stringstream cells(last);
  for (std::string cell; std::getline(cells, cell, ',');) total.push_back(std::stod(cell));
  EXPECT_EQ(total[5], 2000) << last;
  EXPECT_EQ(interval_counts, 2000);
  // HdrHistogram reports a bucket's highest value, cmbench its middle: they
  // differ by at most one bucket, 1/128 of the value.
  const std::vector<std::pair<const char*, size_t>> percentiles = {
      {"p50", 6}, {"p90", 7}, {"p99", 8}, {"p999", 9}, {"max", 11}};
  for (const auto& [key, column] : percentiles) {
    const double ours = json_number(load.out.substr(load.out.find("\"latency_us\"")), key);
    EXPECT_NEAR(total[column], ours, ours / 100 + 1) << key << ": " << last << "\n" << load.out;
  }
}

TEST(Cli, MergeHistAddsIntervalLogsIntoATotalOrALog) {
  Child server({CMBENCH_BIN, "serve", "--model", "epoll", "--port", "0"});
  const std::string url = "http://127.0.0.1:" + std::to_string(read_listening_port(server)) + "/";
  const auto dir = std::filesystem::temp_directory_path() / "cmbench-hlog-merge-test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string a = (dir / "a.hlog").string(), b = (dir / "b.hlog").string();
  const auto first = run_cmbench(
      {"load", url, "-c", "2", "-t", "1", "-d", "1500ms", "-R", "200", "--hlog", a, "--json"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const auto second =
      run_cmbench({"load", url, "-c", "2", "-t", "1", "--requests", "300", "--hlog", b});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  // The open loop's log has both tags; a total takes its corrected lines.
  std::ifstream a_in(a);
  const std::string a_text((std::istreambuf_iterator<char>(a_in)), {});
  EXPECT_NE(a_text.find("\nTag=corrected,0.000,1.000,"), std::string::npos) << a_text;
  EXPECT_NE(a_text.find("\nTag=uncorrected,0.000,1.000,"), std::string::npos) << a_text;
  const auto requests = static_cast<int>(json_number(first.out, "requests"));
  // The corrected view holds the requests the window closed on, too.
  const auto corrected = requests + static_cast<int>(json_number(first.out, "unfinished"));
  const auto merged = run_cmbench({"merge-hist", a, b});
  ASSERT_EQ(merged.exit_code, 0) << merged.err;
  EXPECT_NE(merged.out.find("Total count = " + std::to_string(corrected + 300) + "]"),
            std::string::npos)
      << merged.out;
  const auto uncorrected = run_cmbench({"merge-hist", a, "--tag", "uncorrected"});
  EXPECT_NE(uncorrected.out.find("Total count = " + std::to_string(requests) + "]"),
            std::string::npos)
      << uncorrected.out;
  // Into a log: intervals side by side, still readable, the same total.
  const std::string both = (dir / "both.hlog").string();
  ASSERT_EQ(run_cmbench({"merge-hist", a, b, "-o", both}).exit_code, 0);
  const auto again = run_cmbench({"merge-hist", both});
  EXPECT_NE(again.out.find("Total count = " + std::to_string(corrected + 300) + "]"),
            std::string::npos)
      << again.out;
  EXPECT_EQ(run_cmbench({"merge-hist", a, (dir / "missing.hlog").string()}).exit_code, 2);
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
