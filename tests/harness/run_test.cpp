// `cmbench run` end to end: child servers, pinning, CSV rows, the schema doc,
// and the tutorial's shape.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness/base/stats.hpp"
#include "harness/results/csv.hpp"
#include "harness/results/schema.hpp"
#include "harness/sweep/plan.hpp"
#include "harness/sweep/syscall_counter.hpp"
#include "servers/registry.hpp"
#include "support/model_names.hpp"
#include "support/process.hpp"
#include "support/results_csv.hpp"

namespace {

using cmb::testing::Child;
using cmb::testing::read_result_rows;  // checks every row is whole
using cmb::testing::run_cmbench;
using namespace std::chrono_literals;

std::string temp_csv(const std::string& name) {
  const auto path = std::filesystem::temp_directory_path() / ("cmbench-test-" + name + ".csv");
  std::filesystem::remove(path);
  return path.string();
}

// `cmbench run ARGS --no-plots --out CSV` into a fresh temporary CSV named
// after `name`: the run's output and the CSV's rows.
struct Sweep {
  cmb::testing::Finished result;
  std::string csv;
  std::vector<cmb::testing::ResultRowMap> rows;
};
Sweep run_sweep(const std::string& name, std::vector<std::string> args) {
  Sweep sweep;
  sweep.csv = temp_csv(name);
  args.insert(args.begin(), "run");
  args.insert(args.end(), {"--no-plots", "--out", sweep.csv});
  sweep.result = run_cmbench(args);
  sweep.rows = read_result_rows(sweep.csv);
  return sweep;
}

// The width and height of a PNG, from its IHDR chunk.
std::pair<uint32_t, uint32_t> png_size(const std::filesystem::path& png) {
  std::ifstream in(png, std::ios::binary);
  unsigned char header[24] = {};
  in.read(reinterpret_cast<char*>(header), sizeof header);
  const auto word = [&](int at) {
    return (uint32_t{header[at]} << 24) | (uint32_t{header[at + 1]} << 16) |
           (uint32_t{header[at + 2]} << 8) | uint32_t{header[at + 3]};
  };
  return {word(16), word(20)};
}

// `run --style talk` draws its charts as 1920x1080 slides, in the folder it
// prints.
TEST(Run, DrawsItsChartsAsSlidesInTheFolderItNames) {
  const std::string csv = temp_csv("talk");
  const auto charts = std::filesystem::path(csv).parent_path() / "talk-charts";
  std::filesystem::remove_all(charts);
  const auto result = run_cmbench({"run", "--models", "epoll", "--connections", "1,2", "--workload",
                                   "", "-d", "200ms", "--warmup", "0s", "--style", "talk",
                                   "--charts", charts.string(), "--out", csv});
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  if (result.err.find("no charts") != std::string::npos) GTEST_SKIP() << result.err;
  EXPECT_NE(result.out.find("charts: " + charts.string()), std::string::npos) << result.out;
  EXPECT_EQ(png_size(charts / "story.png"), std::make_pair(1920u, 1080u));
  EXPECT_EQ(png_size(charts / "latency_vs_connections.png"), std::make_pair(1920u, 1080u));
  std::filesystem::remove_all(charts);
}

TEST(Run, TwoModelsTwoConnectionCountsWriteWholeRows) {
  const auto [result, csv, rows] =
      run_sweep("two-by-two", {"--models", "iterative,thread-per-connection", "--connections",
                               "1,2", "--workload", "", "-d", "500ms", "--warmup", "100ms"});
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  ASSERT_EQ(rows.size(), 4u);
  for (const auto& row : rows) {
    EXPECT_EQ(row.at("error"), "");
    EXPECT_GT(std::stod(row.at("requests")), 0);
    EXPECT_GT(std::stod(row.at("rps")), 0);
    EXPECT_GT(std::stod(row.at("latency_p50_us")), 0);
    EXPECT_LE(std::stod(row.at("latency_p50_us")), std::stod(row.at("latency_p99_us")));
    EXPECT_GT(std::stod(row.at("server_rss_max_kb")), 0);
    EXPECT_GE(std::stod(row.at("server_threads_max")), 1);
    EXPECT_GT(std::stod(row.at("server_user_s")) + std::stod(row.at("server_system_s")), 0);
  }
  EXPECT_NE(result.out.find("CSV: " + csv), std::string::npos);
}

// A workload the handler would not serve as asked is a usage error before
// anything starts: no CSV, no manifest, no server.
TEST(Run, AMistypedOrBadWorkloadIsRefusedBeforeAnythingIsMeasured) {
  for (const auto& [workload, message] : std::vector<std::pair<std::string, std::string>>{
           {"sleepus=1000",
            "unknown key 'sleepus' (did you mean sleep_us?); the keys are cpu_us, sleep_us, "
            "wait_us, bytes"},
           {"sleep_us=abc", "sleep_us='abc' is not a whole number of microseconds"}}) {
    const std::string csv = temp_csv("bad-workload");
    std::filesystem::remove(csv);
    const auto result = run_cmbench(
        {"run", "--models", "epoll", "--workload", workload, "--no-plots", "--out", csv});
    EXPECT_EQ(result.exit_code, 2) << result.out << result.err;
    EXPECT_NE(result.err.find(message), std::string::npos) << result.err;
    EXPECT_FALSE(std::filesystem::exists(csv));
    EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(csv).replace_extension(".json")));
  }
}

TEST(Run, EveryColumnIsDocumented) {
  std::ifstream doc(std::string(CMB_SOURCE_DIR) + "/results/README.md");
  std::stringstream text;
  text << doc.rdbuf();
  for (std::string_view column : cmb::harness::csv_columns())
    EXPECT_NE(text.str().find("`" + std::string(column) + "`"), std::string::npos) << column;
}

// The run completes and its CSV is whole, but it exits 1 and names the
// point: a run that measured nothing must not pass for one that did.
TEST(Run, AServerThatCannotStartBecomesAnErrorRowAndFailsTheRun) {
  const std::string csv = temp_csv("bad-host");
  // 192.0.2.1 (TEST-NET) is not an address of this machine: bind fails.
  const auto result =
      run_cmbench({"run", "--models", "iterative", "--connections", "1", "--host", "192.0.2.1",
                   "-d", "200ms", "--warmup", "0s", "--no-plots", "--out", csv});
  EXPECT_EQ(result.exit_code, 1) << result.err;
  const auto rows = read_result_rows(csv);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_NE(rows[0].at("error").find("did not start"), std::string::npos) << rows[0].at("error");
  EXPECT_TRUE(std::regex_search(
      result.out,
      std::regex(
          R"(1 of 1 points FAILED[^\n]*\n +iterative +\S+ +c=1 +rep 1: [^\n]*did not start)")))
      << result.out;
}

// An --external server that exits at once, beside a model that works: every
// point is measured or written as an error row, and the run exits 1.
TEST(Run, AFailedExternalBesideAModelFailsTheRunAfterTheWholeSweep) {
  const std::string csv = temp_csv("failed-external");
  const auto result = run_cmbench({"run", "--models", "epoll,srv", "--external", "srv=false",
                                   "--workload", "", "--connections", "1,2", "-d", "200ms",
                                   "--warmup", "0s", "--no-plots", "--out", csv});
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  const auto rows = read_result_rows(csv);
  ASSERT_EQ(rows.size(), 4u) << result.out;
  int measured = 0, failed = 0;
  for (const auto& row : rows) {
    if (row.at("model") == "epoll") measured += row.at("error").empty();
    if (row.at("model") == "srv") failed += !row.at("error").empty();
  }
  EXPECT_EQ(measured, 2);
  EXPECT_EQ(failed, 2);
  EXPECT_NE(result.out.find("2 of 4 points FAILED"), std::string::npos) << result.out;
  // Why, as serve said it, not serve's own exit status.
  EXPECT_NE(result.out.find("server 'srv' did not start: false exited with status 1 before it "
                            "was ready"),
            std::string::npos)
      << result.out;
  EXPECT_TRUE(std::regex_search(result.out, std::regex(R"(\n +srv +hello +c=2 +rep 1: )")))
      << result.out;
}

// Bendersky's argument and the demo's claim: when each request blocks for
// 10 ms, 16 connections get ~16x from thread-per-connection and ~1x from the
// iterative server, which starves all but one connection.
TEST(Run, ThreadPerConnectionServesEightTimesIterativeWhenRequestsBlock) {
  const auto [result, csv, rows] =
      run_sweep("shape", {"--models", "iterative,thread-per-connection", "--connections", "16",
                          "--workload", "sleep_us=10000", "-d", "2s", "--warmup", "500ms"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ASSERT_EQ(rows.size(), 2u);
  const double iterative = std::stod(rows[0].at("rps"));
  const double threaded = std::stod(rows[1].at("rps"));
  EXPECT_LE(iterative, 110.0);
  EXPECT_GE(threaded, 8 * iterative) << "iterative " << iterative << " threaded " << threaded;
  // The starved connections show up as timeouts, not as a hang, and their
  // wait (>= the 2 s timeout) reaches the iterative server's p99.
  EXPECT_GT(std::stod(rows[0].at("errors_timeout")), 0);
  EXPECT_GE(std::stod(rows[0].at("latency_p99_us")), 1'900'000);
  EXPECT_LT(std::stod(rows[1].at("latency_p99_us")), 100'000);
}

// Requests never answered are counted, and with them the mean over every
// request sent is the client's: the answered requests' stages (and the
// rest) weighted by the share answered, plus the never answered's wait,
// add up to latency_mean_us. The iterative server serves one of 8
// keep-alive connections all window long, and the rest wait in the kernel's
// backlog, where it cannot see them; a pool of two serves two, and knows
// the six it has accepted and queued for a worker (inbound_waiting); a
// thread per connection serves all 8, whose last requests are in flight as
// the window closes.
TEST(Run, RequestsNeverAnsweredCountInTheMeanOverEveryRequest) {
  const auto [result, csv, rows] =
      run_sweep("unanswered",
                {"--models", "iterative,thread-pool:2,thread-per-connection", "--connections", "8",
                 "--workload", "sleep_us=10000", "-d", "1s", "--warmup", "300ms", "--attribution"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ASSERT_EQ(rows.size(), 3u);
  for (const auto& row : rows) {
    const std::string& model = row.at("model");
    const double answered = std::stod(row.at("requests"));
    const double unanswered = std::stod(row.at("unanswered"));
    double stages = std::stod(row.at("unaccounted_mean_us"));
    for (const char* stage : {"inbound", "queued", "service", "outbound"})
      stages += std::stod(row.at(std::string(stage) + "_mean_us"));
    const double every_request =
        stages * answered / (answered + unanswered) + std::stod(row.at("unanswered_wait_us"));
    EXPECT_NEAR(every_request, std::stod(row.at("latency_mean_us")),
                0.05 * std::stod(row.at("latency_mean_us")))
        << model;
    EXPECT_NEAR(std::stod(row.at("unanswered_wait_us")),
                unanswered * std::stod(row.at("unanswered_age_mean_us")) / (answered + unanswered),
                1.0)
        << model;
    if (model == "iterative") {
      EXPECT_EQ(row.at("connections_unanswered"), "7");
      EXPECT_GE(unanswered, 7);
      // Waiting since before the window opened: older than the window. 7
      // waits of about 1.3 s against 98 answered requests of 10 ms: about
      // 8.6x its service, whatever the machine's speed.
      EXPECT_GT(std::stod(row.at("unanswered_age_mean_us")), 1'000'000);
      EXPECT_GT(std::stod(row.at("unanswered_wait_us")), 4 * std::stod(row.at("service_mean_us")));
      EXPECT_EQ(row.at("inbound_waiting"), "0") << "the listen backlog is the kernel's";
    } else if (model == "thread-pool:2") {
      EXPECT_EQ(row.at("connections_unanswered"), "6");
      EXPECT_EQ(row.at("inbound_waiting"), "6");
      EXPECT_NE(result.out.find("6 connections got no response, 6 held by the server waiting for "
                                "a worker"),
                std::string::npos)
          << result.out;
      EXPECT_GT(std::stod(row.at("inbound_waiting_age_mean_us")), 1'000'000);
      EXPECT_EQ(row.at("queued_waiting"), "0");
    } else {
      EXPECT_EQ(row.at("connections_unanswered"), "0");
      EXPECT_LE(unanswered, 8);  // the last ones in flight
      EXPECT_LT(std::stod(row.at("unanswered_wait_us")),
                0.05 * std::stod(row.at("service_mean_us")));
    }
  }
}

// Blocking work stalls a single event loop; handing it to workers does not.
TEST(Run, EpollWorkersServesFourTimesEpollWhenRequestsBlock) {
  const auto [result, csv, rows] =
      run_sweep("workers", {"--models", "epoll,epoll-workers", "--connections", "16", "--workload",
                            "sleep_us=10000", "-d", "2s", "--warmup", "500ms"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ASSERT_EQ(rows.size(), 2u);
  const double epoll = std::stod(rows[0].at("rps")), workers = std::stod(rows[1].at("rps"));
  EXPECT_LE(epoll, 110.0);
  EXPECT_GE(workers, 4 * epoll) << "epoll " << epoll << " epoll-workers " << workers;
}

// The server's own count agrees with the client's within the requests in
// flight at the window's edges: a response the client counts may have been
// answered just before the opening snapshot, and the server may answer
// requests still in flight at the close. Two models: one thread, and
// threads in one process.
TEST(Run, ServerCountsAgreeWithTheClientWithinTheRequestsInFlight) {
  const auto [result, csv, rows] = run_sweep(
      "server-counters", {"--models", "epoll,thread-per-connection", "--workload", "",
                          "--connections", "16", "-d", "1s", "--warmup", "300ms", "--repeat", "2"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ASSERT_EQ(rows.size(), 4u);
  for (const auto& row : rows) {
    ASSERT_EQ(row.at("error"), "");
    ASSERT_NE(row.at("server_requests"), "") << "no server counters in the row";
    const uint64_t client = std::stoull(row.at("requests"));
    const uint64_t server = std::stoull(row.at("server_requests"));
    EXPECT_GT(client, 1000u) << row.at("model");
    EXPECT_GE(server + 16, client) << row.at("model");
    EXPECT_LE(server, client + 16) << row.at("model");
    EXPECT_EQ(row.at("server_refused"), "0");
    EXPECT_EQ(row.at("server_timed_out"), "0");
    EXPECT_EQ(row.at("server_rejected"), "0");
    // Two repetitions: the sweep's end wrote their interval on both rows.
    ASSERT_NE(row.at("rps_lo"), "");
    EXPECT_LE(std::stod(row.at("rps_lo")), std::stod(row.at("rps")));
    EXPECT_GE(std::stod(row.at("rps_hi")), std::stod(row.at("rps")));
    EXPECT_LE(std::stod(row.at("p99_lo_us")), std::stod(row.at("latency_p99_us")));
    EXPECT_GE(std::stod(row.at("p99_hi_us")), std::stod(row.at("latency_p99_us")));
    EXPECT_EQ(row.at("outlier"), "");  // too few to judge
  }
}

// A sweep of `models` beside the server that warms up through its first
// 3 s (tests/support/warming_server.py: 50 ms a response at its start,
// 5 ms from then on), as the model "warming", at 4 connections: about
// 80 req/s at first and 750 warm.
Sweep sweep_warming(const std::string& name, const std::string& models, const std::string& warmup) {
  const std::string script = std::string(CMB_SOURCE_DIR) + "/tests/support/warming_server.py";
  return run_sweep(
      name, {"--external", "warming=/usr/bin/python3 " + script + " {port}", "--models", models,
             "--connections", "4", "--workload", "", "-d", "2500ms", "--warmup", warmup});
}

// Measured with a short warm-up it is flagged not steady; epoll beside it,
// in the same sweep, has its verdict computed.
TEST(Run, AServerStillWarmingUpIsNotSteady) {
  const auto [result, csv, rows] = sweep_warming("warming", "warming,epoll", "200ms");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ASSERT_EQ(rows.size(), 2u);
  for (const auto& row : rows) {
    ASSERT_EQ(row.at("error"), "") << row.at("model");
    if (row.at("model") == "warming")
      EXPECT_EQ(row.at("steady"), "no") << row.at("rps") << " req/s";
    else
      EXPECT_NE(row.at("steady"), "") << "epoll answered thousands: a verdict is due";
  }
}

// With `--warmup auto` the warm-up goes on until its rate has settled, so
// the window is steady, and the row says how long it took (at least the
// 3 s the server warms for, at most the 30 s cap).
TEST(Run, AnAutomaticWarmUpWaitsForAServerToWarmUp) {
  const auto [result, csv, rows] = sweep_warming("warming-auto", "warming", "auto");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ASSERT_EQ(rows.size(), 1u);
  ASSERT_EQ(rows[0].at("error"), "");
  EXPECT_EQ(rows[0].at("steady"), "yes") << rows[0].at("rps") << " req/s";
  EXPECT_GE(std::stod(rows[0].at("warmup_s")), 3.0);
  EXPECT_LE(std::stod(rows[0].at("warmup_s")), 31.0);
  EXPECT_NE(result.out.find("auto warm-up each"), std::string::npos) << result.out;
}

// An --external server is checked before it is measured: one that skips
// its work fails `sleep_us` (the sweep's work: `cpu_us`, which the sweep
// does not give, is not asked), and its row is an error naming the check
// while epoll beside it is measured. With --no-verify it is measured
// anyway, at the sweep's workload, and the summary says it was not checked.
TEST(Run, AnExternalServerIsVerifiedBeforeItIsMeasured) {
  const std::string script = std::string(CMB_SOURCE_DIR) + "/tests/support/broken_server.py";
  const std::string python = "/usr/bin/python3 " + script + " {port} ";
  const auto [result, csv, rows] =
      run_sweep("verified", {"--external", "cheat=" + python + "ignores-sleep", "--models",
                             "cheat,epoll", "--connections", "1,2", "--workload", "sleep_us=2000",
                             "-d", "300ms", "--warmup", "100ms"});
  ASSERT_EQ(result.exit_code, 1) << result.err;  // points not measured
  ASSERT_EQ(rows.size(), 4u);
  for (const auto& row : rows) {
    if (row.at("model") == "cheat") {  // checked once; refused at both its points
      EXPECT_NE(row.at("error").find("failed cmbench verify: sleep_us"), std::string::npos)
          << row.at("error");
    } else {
      EXPECT_EQ(row.at("error"), "") << row.at("model");
    }
  }
  const auto unchecked =
      run_sweep("unverified", {"--external", "cheat=" + python + "ignores-sleep", "--models",
                               "cheat", "--connections", "2", "--workload", "sleep_us=2000", "-d",
                               "300ms", "--warmup", "100ms", "--no-verify"});
  ASSERT_EQ(unchecked.result.exit_code, 0) << unchecked.result.err;
  ASSERT_EQ(unchecked.rows.size(), 1u);
  EXPECT_EQ(unchecked.rows[0].at("error"), "");
  EXPECT_NE(unchecked.result.out.find("cheat                not checked (--no-verify)"),
            std::string::npos)
      << unchecked.result.out;
}

// How a server treats bad input is reported, not a reason to refuse it: a
// server that answers malformed requests 200 is measured, and the summary
// and the manifest name the hardening checks it failed. `--static` gives a
// server that answers only hello no work and checks it as a static one.
TEST(Run, HardeningIsReportedAndStaticServersGetNoWork) {
  const std::string python =
      "/usr/bin/python3 " + std::string(CMB_SOURCE_DIR) + "/tests/support/broken_server.py {port} ";
  const auto lax =
      run_sweep("lax", {"--external", "lax=" + python + "lax", "--models", "lax", "--connections",
                        "2", "--workload", "sleep_us=2000", "-d", "300ms", "--warmup", "100ms"});
  ASSERT_EQ(lax.result.exit_code, 0) << lax.result.out << lax.result.err;
  ASSERT_EQ(lax.rows.size(), 1u);
  EXPECT_EQ(lax.rows[0].at("error"), "");
  EXPECT_NE(lax.result.out.find("lax                  measurement checks passed; hardening: 4 of "
                                "4 failed (reported, not refused): status-400:"),
            std::string::npos)
      << lax.result.out;
  const nlohmann::json manifest = cmb::testing::read_manifest(lax.csv);
  const auto& verify = manifest["models"][0]["verify"];
  EXPECT_EQ(verify["checked"], true) << manifest["models"].dump(2);
  EXPECT_EQ(verify["measurement_failed"].size(), 0u);
  EXPECT_EQ(verify["hardening_failed"].size(), 4u);

  const auto hello =
      run_sweep("static", {"--external", "hello=" + python + "hello-only", "--static", "--models",
                           "hello", "--connections", "2", "--workload", "", "--workload",
                           "sleep_us=2000", "-d", "300ms", "--warmup", "100ms"});
  EXPECT_EQ(hello.result.exit_code, 1) << hello.result.out << hello.result.err;
  ASSERT_EQ(hello.rows.size(), 2u);
  for (const auto& row : hello.rows)
    EXPECT_EQ(row.at("error"), row.at("workload").empty()
                                   ? ""
                                   : "hello serves only the hello workload: 'sleep_us=2000' would "
                                     "be ignored");
}

// A point whose responses are mostly 4xx measured a request the server
// refuses, not its work: an error row saying so, not a throughput.
TEST(Run, APointOfMostly4xxResponsesIsAnErrorRow) {
  const std::string script = std::string(CMB_SOURCE_DIR) + "/tests/support/broken_server.py";
  const auto [result, csv, rows] =
      run_sweep("not-found", {"--external", "lost=/usr/bin/python3 " + script + " {port} not-found",
                              "--models", "lost", "--connections", "2", "--workload", "", "-d",
                              "300ms", "--warmup", "100ms", "--no-verify"});
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(std::regex_search(
      rows[0].at("error"),
      std::regex(R"(^(\d+) of \1 responses were 4xx: the server refused the request itself$)")))
      << rows[0].at("error");
  EXPECT_GT(std::stoull(rows[0].at("errors_status")), 10u);
}

// nginx as a row next to ours: measured like any model, with its process
// tree's CPU and memory, but its counter columns blank (it keeps none of
// ours), and a workload it would ignore is an error row, not a result.
TEST(Run, NginxIsARowWithBlankCountersAndOnlyTheHelloWorkload) {
  const auto nginx = cmb::servers::find_model("nginx");
  ASSERT_TRUE(nginx);
  if (!nginx->unavailable_reason.empty()) GTEST_SKIP() << nginx->unavailable_reason;
  const auto [result, csv, rows] =
      run_sweep("nginx-row", {"--models", "nginx:1,epoll", "--connections", "4", "--workload", "",
                              "--workload", "cpu_us=10", "-d", "500ms", "--warmup", "100ms"});
  ASSERT_EQ(result.exit_code, 1) << result.err;  // nginx's cpu_us point is not measured
  ASSERT_EQ(rows.size(), 4u);
  for (const auto& row : rows) {
    const bool is_nginx = row.at("model") == "nginx:1";
    if (is_nginx && row.at("workload") == "cpu_us=10") {
      EXPECT_NE(row.at("error").find("only the hello workload"), std::string::npos)
          << row.at("error");
      continue;
    }
    ASSERT_EQ(row.at("error"), "") << row.at("model");
    EXPECT_GT(std::stod(row.at("rps")), 0) << row.at("model");
    EXPECT_GT(std::stod(row.at("server_user_s")) + std::stod(row.at("server_system_s")), 0)
        << row.at("model");
    EXPECT_EQ(row.at("server_requests").empty(), is_nginx) << row.at("model");
    EXPECT_EQ(row.at("service_mean_us").empty(), is_nginx) << "no stamps of ours in nginx";
    if (is_nginx) {
      EXPECT_GE(std::stod(row.at("server_processes_max")), 2) << "master and worker";
    }
  }
}

// A server in another language is a row like nginx's, with the workload:
// its process tree measured (go-seed-goroutines pays a thread per blocked
// connection), its counters and stages blank. Where its runtime is
// missing (here: no node on PATH) its points are error rows saying what
// installs it, and the sweep goes on.
TEST(Run, ARuntimesServerIsARowAndAMissingRuntimeAnErrorRow) {
  for (const char* name : {"go-seed-goroutines", "node"}) {
    const auto model = cmb::servers::find_model(name);
    ASSERT_TRUE(model);
    if (!model->unavailable_reason.empty()) GTEST_SKIP() << model->unavailable_reason;
  }
  const auto [result, csv, rows] = run_sweep(
      "runtime-row", {"--models", "go-seed-goroutines", "--connections", "16", "--workload",
                      "sleep_us=10000", "-d", "500ms", "--warmup", "200ms"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ASSERT_EQ(rows.size(), 1u);
  ASSERT_EQ(rows[0].at("error"), "");
  EXPECT_GT(std::stod(rows[0].at("rps")), 400) << "16 connections of 10 ms each, overlapped";
  EXPECT_GE(std::stod(rows[0].at("server_threads_max")), 16) << "a thread per blocked read";
  EXPECT_EQ(rows[0].at("server_requests"), "");
  EXPECT_EQ(rows[0].at("service_mean_us"), "");

  const std::string missing_csv = temp_csv("runtime-missing");
  const auto missing =
      cmb::testing::Child({"/usr/bin/env", "PATH=/nonexistent", CMBENCH_BIN, "run", "--models",
                           "node,epoll", "--connections", "2", "--workload", "", "-d", "300ms",
                           "--warmup", "100ms", "--no-plots", "--out", missing_csv})
          .wait(std::chrono::seconds(60));
  EXPECT_EQ(missing.exit_code, 1) << missing.err;  // a point not measured
  const auto missing_rows = read_result_rows(missing_csv);
  ASSERT_EQ(missing_rows.size(), 2u);
  for (const auto& row : missing_rows) {
    if (row.at("model") == "node")
      EXPECT_EQ(row.at("error"),
                "node cannot run here: Node.js is not installed (Debian: apt-get install nodejs)");
    else
      EXPECT_EQ(row.at("error"), "") << row.at("model");
  }
}

// A server of the user's own, declared by command line, is a row like
// nginx's: our own binary stands in for it here. Bad declarations are
// refused before anything runs.
TEST(Run, AnExternalServerByCommandLineIsARow) {
  const auto [result, csv, rows] = run_sweep(
      "external-row",
      {"--external", std::string("mine=") + CMBENCH_BIN + " serve --model poll --port {port}",
       "--models", "mine,poll", "--connections", "2", "--workload", "", "-d", "300ms", "--warmup",
       "100ms"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ASSERT_EQ(rows.size(), 2u);
  for (const auto& row : rows) {
    ASSERT_EQ(row.at("error"), "") << row.at("model");
    EXPECT_GT(std::stod(row.at("rps")), 0) << row.at("model");
    EXPECT_EQ(row.at("server_requests").empty(), row.at("model") == "mine");
  }
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"--external", "poll=/bin/true", "--models", "poll"},
        {"--external", "x='unbalanced", "--models", "x"},
        {"--external", "noequals", "--models", "poll"}}) {
    std::vector<std::string> args{"run", "--no-plots", "-d", "100ms"};
    args.insert(args.end(), bad.begin(), bad.end());
    const auto refused = run_cmbench(args);
    EXPECT_EQ(refused.exit_code, 2) << bad[1];
    EXPECT_NE(refused.err.find("--external"), std::string::npos) << refused.err;
  }
}

// select() cannot watch a descriptor past FD_SETSIZE (1024): at 1100
// connections it refuses the rest, and says so in its own column.
TEST(Run, SelectPastFdSetSizeCountsItsRefusals) {
  const auto [result, csv, rows] =
      run_sweep("select-refusals", {"--models", "select", "--workload", "", "--connections", "1100",
                                    "-d", "1s", "--warmup", "300ms"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_GT(std::stoull(rows[0].at("server_refused")), 0u);
  // The client saw those connections closed before their responses.
  EXPECT_GT(std::stoull(rows[0].at("errors_read")) + std::stoull(rows[0].at("errors_write")), 0u);
}

// A non-blocking wait does not stall an event loop: 64 connections each
// waiting 100 ms get about 640 req/s from one thread.
TEST(Run, EpollOverlapsNonBlockingWaits) {
  const auto [result, csv, rows] =
      run_sweep("waits", {"--models", "epoll", "--connections", "64", "--workload",
                          "wait_us=100000", "-d", "2s", "--warmup", "500ms"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_GE(std::stod(rows[0].at("rps")), 300.0);
  EXPECT_LE(std::stod(rows[0].at("server_threads_max")), 3.0);
}

// The children of `pid` (one level), from /proc.
std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> children;
  std::error_code ec;
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(task.path() / "children");
    for (pid_t child; in >> child;) children.push_back(child);
  }
  return children;
}

size_t line_count(const std::string& path) {
  std::ifstream in(path);
  size_t lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  return lines;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return condition();
}

// `cmbench run` over epoll at `connections` as a child, once its CSV has
// `lines` lines (header included); `server` is the pid of its one server, 0
// when the lines did not come or there was not exactly one server.
struct BackgroundSweep {
  std::unique_ptr<Child> harness;
  pid_t server = 0;
};
BackgroundSweep start_sweep(const std::string& csv, const std::string& connections,
                            const std::string& duration, size_t lines) {
  BackgroundSweep sweep;
  sweep.harness = std::make_unique<Child>(std::vector<std::string>{
      CMBENCH_BIN, "run", "--models", "epoll", "--connections", connections, "-d", duration,
      "--warmup", "0s", "--no-plots", "--out", csv});
  if (!wait_until([&] { return line_count(csv) >= lines; }, 20s)) return sweep;
  const std::vector<pid_t> servers = children_of(sweep.harness->pid());
  if (servers.size() == 1) sweep.server = servers[0];
  return sweep;
}

// kill -9 of the harness mid-sweep: whole rows only, and no server left behind.
TEST(Run, KillNineMidSweepLeavesWholeRowsAndNoServer) {
  const std::string csv = temp_csv("kill9");
  auto sweep = start_sweep(csv, "1,2,3,4,5,6,7,8", "400ms", 3);
  ASSERT_NE(sweep.server, 0) << "no rows, or not one server";
  ::kill(sweep.harness->pid(), SIGKILL);
  sweep.harness->wait(5s);
  EXPECT_TRUE(wait_until([&] { return ::kill(sweep.server, 0) != 0; }, 3s))
      << "the server outlived the harness";

  std::ifstream in(csv);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n') << "the last row is cut short";
  const auto rows = read_result_rows(csv);  // asserts every row has every field
  EXPECT_GE(rows.size(), 2u);
  EXPECT_LT(rows.size(), 8u);
}

// A server that dies mid-sweep becomes an error row; the sweep restarts it,
// completes, and exits 1 for the lost point.
TEST(Run, AServerKilledMidSweepBecomesAnErrorRow) {
  const std::string csv = temp_csv("server-killed");
  auto sweep = start_sweep(csv, "1,2,3,4", "800ms", 2);
  ASSERT_NE(sweep.server, 0) << "no rows, or not one server";
  std::this_thread::sleep_for(300ms);  // into the second point
  ::kill(sweep.server, SIGKILL);
  const auto finished = sweep.harness->wait(60s);
  EXPECT_EQ(finished.exit_code, 1) << finished.err;
  const auto rows = read_result_rows(csv);
  ASSERT_EQ(rows.size(), 4u);
  int errors = 0;
  for (const auto& row : rows)
    if (row.at("error").find("killed by signal 9") != std::string::npos) ++errors;
  EXPECT_EQ(errors, 1);
  EXPECT_EQ(rows.back().at("error"), "") << "the sweep did not restart the server";
}

// Ctrl-C: the current point is dropped with its files, finished rows stay,
// the server stops.
TEST(Run, InterruptKeepsFinishedRowsAndStopsTheServer) {
  const std::string csv = temp_csv("interrupt");
  auto sweep = start_sweep(csv, "1,2,3,4,5,6", "500ms", 2);
  ASSERT_NE(sweep.server, 0) << "no rows, or not one server";
  ::kill(sweep.harness->pid(), SIGINT);
  const auto finished = sweep.harness->wait(10s);
  EXPECT_EQ(finished.exit_code, 130);
  EXPECT_NE(finished.out.find("interrupted"), std::string::npos) << finished.out;
  EXPECT_NE(::kill(sweep.server, 0), 0) << "the server is still running";
  const auto rows = read_result_rows(csv);
  EXPECT_GE(rows.size(), 1u);
  EXPECT_LT(rows.size(), 6u);
  for (const auto& row : rows) EXPECT_EQ(row.at("error"), "");
  // The point cut short left no files: one histogram per kept row.
  size_t histograms = 0;
  const auto folder = std::filesystem::path(csv).replace_extension("");
  for (const auto& entry : std::filesystem::directory_iterator(folder))
    histograms += entry.path().extension() == ".hist";
  EXPECT_EQ(histograms, rows.size());
}

// Repetitions interleave: every model once per round, so a passing
// disturbance cannot hit all of one model's samples.
TEST(Run, RepetitionsInterleaveAcrossModels) {
  const auto [result, csv, rows] =
      run_sweep("interleave", {"--models", "epoll,poll", "--connections", "1", "--workload", "",
                               "--repeat", "2", "-d", "100ms", "--warmup", "0s"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ASSERT_EQ(rows.size(), 4u);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"epoll", "1"}, {"poll", "1"}, {"epoll", "2"}, {"poll", "2"}};
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].at("model"), expected[i].first) << i;
    EXPECT_EQ(rows[i].at("repetition"), expected[i].second) << i;
  }
}

TEST(Run, ResumeSkipsMeasuredPoints) {
  const std::string csv = temp_csv("resume");
  const std::vector<std::string> common = {"run", "--models",   "epoll", "--workload",
                                           "",    "-d",         "200ms", "--warmup",
                                           "0s",  "--no-plots", "--out", csv};
  auto first = common;
  first.insert(first.end(), {"--connections", "1,2"});
  ASSERT_EQ(run_cmbench(first).exit_code, 0);
  auto second = common;
  second.insert(second.end(), {"--connections", "1,2,3", "--resume"});
  const auto resumed = run_cmbench(second);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("1 points (2 already in the CSV)"), std::string::npos) << resumed.out;
  const auto rows = read_result_rows(csv);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[2].at("connections"), "3");
}

// The search against a server of known capacity: the iterative server
// with one connection answers one request per 5 ms of sleep, at most 200
// req/s, however slow the machine. Its rows are the search's steps, the
// manifest states what it found, and --resume replays them without
// measuring anything.
TEST(Run, ASearchFindsTheRateOfAServerOfKnownCapacityAndResumes) {
  const std::string csv = temp_csv("search");
  const std::vector<std::string> args = {
      "run",   "--models", "iterative", "--workload", "sleep_us=5000", "--connections",
      "1",     "--search", "rate",      "--slo-p99",  "100ms",         "--resolution",
      "10%",   "-d",       "1s",        "--warmup",   "500ms",         "--no-plots",
      "--out", csv};
  const auto result = run_cmbench(args, std::chrono::minutes(2));
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  const auto rows = read_result_rows(csv);
  ASSERT_GE(rows.size(), 4u) << result.out;
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].at("search_step"), std::to_string(i));
    EXPECT_EQ(rows[i].at("error"), "") << rows[i].at("rate");
  }
  for (size_t i = 0; i < 3; ++i)
    EXPECT_EQ(rows[i].at("rate"), "0") << "the closed-loop probe comes first, three times";

  const auto manifest = cmb::testing::read_manifest(csv);
  ASSERT_EQ(manifest["search"]["found"].size(), 1u);
  const auto& found = manifest["search"]["found"][0];
  EXPECT_EQ(manifest["search"]["slo_p99_ms"], 100.0);
  EXPECT_EQ(found["points"], rows.size());
  const double max_rate = found["max_rate"];
  const double probe_rps = found["estimate_rps"];
  ASSERT_FALSE(found["bracket"][1].is_null()) << found.dump();
  const double fail = found["bracket"][1];
  EXPECT_GE(max_rate, 0.5 * probe_rps) << found.dump();
  EXPECT_LE(max_rate, 1.1 * probe_rps) << found.dump();
  EXPECT_LE(max_rate, 210) << "no more than 5 ms of sleep allows";
  EXPECT_LE(fail - max_rate, 0.1 * max_rate + 1) << found.dump();
  EXPECT_NE(result.out.find(fmt::format("{:g} req/s (bracket", max_rate)), std::string::npos)
      << result.out;

  auto resume = args;
  resume.push_back("--resume");
  const auto resumed = run_cmbench(resume, std::chrono::minutes(1));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(resumed.out.find("step"), std::string::npos) << "nothing measured again\n"
                                                         << resumed.out;
  EXPECT_EQ(read_result_rows(csv).size(), rows.size());
  EXPECT_NE(resumed.out.find(fmt::format("{:g} req/s (bracket", max_rate)), std::string::npos)
      << resumed.out;
}

// `run --ramp`: each point's load steps through the rates, the row names
// the ramp and carries its mean as its rate, and the point's timeline says
// what each second offered beside what was answered.
TEST(Run, ARampRunsEachPointThroughItsRates) {
  const std::string csv = temp_csv("ramp");
  const auto result =
      run_cmbench({"run", "--models", "epoll", "--connections", "4", "--workload", "", "--ramp",
                   "200,400", "--step", "1s", "--warmup", "200ms", "--no-plots", "--out", csv});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  // The ramp's text holds a comma: its field is quoted, as RFC 4180 says.
  const auto rows = read_result_rows(csv);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].at("error"), "");
  EXPECT_EQ(rows[0].at("ramp"), "200,400 every 1s");
  EXPECT_EQ(rows[0].at("rate"), "300");
  EXPECT_NEAR(std::stod(rows[0].at("duration_s")), 2.0, 0.1) << "--step sets the window";
  std::ifstream timeline(std::filesystem::path(csv).parent_path() /
                         (rows[0].at("artifacts") + ".timeline.csv"));
  std::string line;
  std::getline(timeline, line);
  std::vector<std::string> offered;
  while (std::getline(timeline, line)) offered.push_back(line.substr(line.rfind(',') + 1));
  EXPECT_EQ(offered, (std::vector<std::string>{"200.0", "400.0"}));
}

TEST(Run, SearchFlagsThatCannotBeAreUsageErrors) {
  for (const auto& [args, says] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--search", "rate", "--repeat", "3"}, "leave out --repeat"},
           {{"--search", "rate", "--resolution", "150%"}, "above 0 and below 1"},
           {{"--search", "rate", "--slo-p99", "fast"}, "invalid duration"},
           {{"--search", "knee"}, "knee"},
           {{"--ramp", "100:200", "--search", "rate"}, "give one"},
           {{"--ramp", "100,200"}, "give --step"}}) {
    std::vector<std::string> command{"run",        "--models", "epoll",
                                     "--no-plots", "--out",    temp_csv("bad-search")};
    command.insert(command.end(), args.begin(), args.end());
    const auto result = run_cmbench(command, std::chrono::seconds(10));
    EXPECT_EQ(result.exit_code, 2) << args[1];
    EXPECT_NE(result.err.find(says), std::string::npos) << result.err;
  }
}

// Where the time goes, as every own model stamps it in the shared session:
// at one connection and 10 ms of sleep a request, the handler's 10 ms are
// `service`, and what comes before and after it is small. nginx keeps no
// stamps: its columns stay empty. Bounds for a machine twice as slow and
// noisy: a 10 ms sleep may wake a millisecond late, and a thread a few
// hundred microseconds. Each model is measured three times and the
// figures of time judged on its median: one point of epoll-exclusive once
// spent 3.5 ms around its service in a clean clone's suite, a stall of the
// shared machine within a half-second window.
TEST(Run, EveryOwnModelSplitsItsServiceFromTheRest) {
  std::string models;  // ours: nginx has no stages, and only the hello workload
  for (const auto& name : cmb::testing::models_where(cmb::testing::own_model))
    models += (models.empty() ? "" : ",") + name;
  const auto [result, csv, rows] =
      run_sweep("stages", {"--models", models, "--connections", "1", "--workload", "sleep_us=10000",
                           "-d", "500ms", "--warmup", "100ms", "--attribution", "--repeat", "3"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ASSERT_FALSE(rows.empty());
  // The summary gives each model's split at its best point: epoll's
  // service, the 10 ms sleep, third of four.
  EXPECT_TRUE(std::regex_search(
      result.out, std::regex(R"(\nepoll +[0-9.]+ +\S+ +- +\S+ +\S+ +10\.[0-9]+ms +\S+\n)")))
      << result.out;
  struct Times {
    std::vector<double> service, around, unaccounted_over_bound;
  };
  std::map<std::string, Times> times;
  for (const auto& row : rows) {
    ASSERT_EQ(row.at("error"), "") << row.at("model");
    ASSERT_NE(row.at("service_mean_us"), "") << row.at("model");
    ASSERT_NE(row.at("inbound_mean_us"), "") << row.at("model") << ": no kernel receive time";
    Times& t = times[row.at("model")];
    t.service.push_back(std::stod(row.at("service_mean_us")));
    t.around.push_back(std::stod(row.at("inbound_mean_us")) + std::stod(row.at("queued_mean_us")) +
                       std::stod(row.at("outbound_mean_us")));
    // The stages account for what the client saw of the same requests,
    // within 5 % or 400 µs (the window's edges: the server's requests and
    // the client's differ by the one in flight).
    const double client = std::stod(row.at("latency_mean_us"));
    t.unaccounted_over_bound.push_back(std::abs(std::stod(row.at("unaccounted_mean_us"))) /
                                       std::max(0.05 * client, 400.0));
    // The point's interval log holds each stage over the window, tagged.
    std::ifstream hlog(std::filesystem::path(csv).parent_path() / (row.at("artifacts") + ".hlog"));
    const std::string log((std::istreambuf_iterator<char>(hlog)), {});
    for (const char* stage : {"inbound", "queued", "service", "outbound"})
      EXPECT_NE(log.find(std::string("Tag=") + stage + ","), std::string::npos)
          << row.at("model") << " " << stage;
  }
  for (const auto& [model, t] : times) {
    EXPECT_EQ(t.service.size(), 3u) << model;
    EXPECT_GE(cmb::harness::median(t.service), 10'000) << model;
    EXPECT_LE(cmb::harness::median(t.service), 11'000) << model;
    EXPECT_LT(cmb::harness::median(t.around), 2'000) << model;
    EXPECT_LE(cmb::harness::median(t.unaccounted_over_bound), 1.0) << model;
  }
}

// The split that tells why-multithreaded's story: 32 clients, a new
// connection per request, 10 ms of sleep each. Where a request waits is
// where the model keeps it: the iterative server's and the thread pool's
// (whose workers own a connection each until it closes) in the kernel's
// accept queue, inbound; the loop's behind the handler that blocks it,
// inbound too (its connections' bytes wait in the kernel); epoll-workers'
// in its work queue, queued; a thread per connection hardly waits.
TEST(Run, EachModelsWaitIsInTheStageItKeepsItIn) {
  const auto [result, csv, rows] = run_sweep(
      "story", {"--models", "iterative,thread-pool,epoll,epoll-workers,thread-per-connection",
                "--connections", "32", "--no-keepalive", "--workload", "sleep_us=10000", "-d", "1s",
                "--warmup", "300ms", "--attribution"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ASSERT_EQ(rows.size(), 5u);
  for (const auto& row : rows) {
    const std::string& model = row.at("model");
    ASSERT_EQ(row.at("error"), "") << model;
    std::map<std::string, double> mean;
    for (const char* stage : {"inbound", "queued", "service", "outbound", "unaccounted"})
      mean[stage] = std::stod(row.at(std::string(stage) + "_mean_us"));
    double total = 0;
    for (const auto& [stage, us] : mean) total += us;
    const std::string largest = model == "epoll-workers"           ? "queued"
                                : model == "thread-per-connection" ? "service"
                                                                   : "inbound";
    for (const auto& [stage, us] : mean) {
      if (stage == largest) continue;
      EXPECT_GT(mean[largest], us) << model << ": " << stage;
    }
    if (largest != "service") {
      EXPECT_GT(mean[largest], 0.5 * total) << model;
    }
  }
}

// Same-runner A/B: two builds' servers measured in one sweep, taking turns
// point by point (A B, then B A in the next round), rows labelled by build.
TEST(Run, BinariesTakeTurnsPointByPointAndLabelTheRows) {
  const auto [result, csv, rows] =
      run_sweep("ab", {"--models", "iterative", "--connections", "1,2", "--workload", "", "-d",
                       "200ms", "--warmup", "0s", "--repeat", "2", "--binary", CMBENCH_BIN,
                       "--binary", std::string("new=") + CMBENCH_BIN});
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  ASSERT_EQ(rows.size(), 8u);
  std::vector<std::string> order;
  for (const auto& row : rows) {
    EXPECT_EQ(row.at("error"), "");
    order.push_back(row.at("model") + " c=" + row.at("connections"));
  }
  EXPECT_EQ(order,
            (std::vector<std::string>{"iterative@A c=1", "iterative@new c=1", "iterative@A c=2",
                                      "iterative@new c=2", "iterative@new c=1", "iterative@A c=1",
                                      "iterative@new c=2", "iterative@A c=2"}));
  std::ifstream manifest(std::filesystem::path(csv).replace_extension(".json"));
  const std::string text((std::istreambuf_iterator<char>(manifest)), {});
  EXPECT_NE(text.find("\"label\": \"new\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"version\": \"cmbench "), std::string::npos) << text;
  // compare takes the CSV alone and judges build `new` against build A.
  const auto verdict = run_cmbench({"compare", csv, "--metrics", "rps,cpu"});
  EXPECT_TRUE(verdict.exit_code == 0 || verdict.exit_code == 1) << verdict.err;
  EXPECT_NE(verdict.out.find("build A (base) against build new"), std::string::npos) << verdict.out;

  EXPECT_EQ(run_cmbench({"run", "--binary", "/no/such/cmbench", "--no-plots"}).exit_code, 2);
  EXPECT_EQ(run_cmbench({"run", "--binary", std::string("x=") + CMBENCH_BIN, "--binary",
                         std::string("x=") + CMBENCH_BIN, "--no-plots"})
                .exit_code,
            2);
}

// A keep-alive request costs a readiness loop at least a read and a write
// (2 I/O calls; nginx's floor is 2.03) plus its share of the waits; perf
// counts them without slowing the server. A server without our counters
// (go-net) is counted per answer the load saw.
TEST(Run, SyscallsPerRequestAreCountedWithPerf) {
  if (const std::string why = cmb::harness::SyscallCounter::unavailable_reason(); !why.empty())
    GTEST_SKIP() << why;
  const auto go_net = cmb::servers::find_model("go-net");
  ASSERT_TRUE(go_net);
  if (!go_net->unavailable_reason.empty()) GTEST_SKIP() << go_net->unavailable_reason;
  const auto [result, csv, rows] =
      run_sweep("syscalls", {"--models", "epoll,iterative,go-net", "--connections", "4",
                             "--workload", "", "-d", "500ms", "--warmup", "100ms", "--syscalls"});
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  ASSERT_EQ(rows.size(), 3u);
  for (const auto& row : rows) {
    ASSERT_NE(row.at("server_syscalls_per_request"), "") << row.at("model");
    const double calls = std::stod(row.at("server_syscalls_per_request"));
    EXPECT_GE(calls, 1.9) << row.at("model");
    // iterative accepts, reads, writes and closes one connection at a time;
    // 4 connections keep it switching, but not past a dozen calls each. Go's
    // runtime makes calls of its own besides (futex, nanosleep, epoll).
    EXPECT_LE(calls, row.at("model") == "go-net" ? 40 : 12) << row.at("model");
  }
  const auto plain = run_sweep("no-syscalls", {"--models", "epoll", "--connections", "2",
                                               "--workload", "", "-d", "200ms", "--warmup", "0s"});
  ASSERT_EQ(plain.rows.size(), 1u);
  EXPECT_EQ(plain.rows[0].at("server_syscalls_per_request"), "");
}

TEST(Run, ScenarioFilesSetTheSweepAndFlagsOverrideThem) {
  const auto [result, csv, rows] = run_sweep(
      "scenario", {"tutorial", "--models", "thread-per-connection", "--connections", "3"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("Sequential vs concurrent"), std::string::npos) << result.out;
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].at("workload"), "sleep_us=100000");  // from the file
  EXPECT_EQ(rows[0].at("requests"), "3");                // connections x requests-per-connection
  EXPECT_LT(std::stod(rows[0].at("duration_s")), 0.5);   // concurrent: ~100 ms for all three

  std::ifstream manifest(std::filesystem::path(csv).replace_extension(".json"));
  std::string text((std::istreambuf_iterator<char>(manifest)), std::istreambuf_iterator<char>());
  for (const char* key :
       {"\"scenario\": \"tutorial\"", "\"kernel\"", "\"cpu_model\"", "\"somaxconn\"",
        "\"ip_local_port_range\"", "\"git_commit\"", "\"server_cpus\"", "\"cmbench_version\"",
        "\"compiler\"", "\"liburing\"", "\"io_uring_features\""})
    EXPECT_NE(text.find(key), std::string::npos) << key;
  // The manifest records the build `cmbench --version` describes.
  const auto version = run_cmbench({"--version"});
  ASSERT_EQ(version.exit_code, 0) << version.err;
  const std::string commit = version.out.substr(version.out.find("(commit ") + 8);
  EXPECT_NE(text.find("\"git_commit\": \"" + commit.substr(0, commit.find(')')) + "\""),
            std::string::npos)
      << version.out;

  const auto unknown = run_cmbench({"run", "no-such-scenario"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("known: "), std::string::npos);
}

// Servers under a slow open loop must not close connections for idling
// between their own requests: 1 000 connections at 20 req/s space each
// connection's requests 50 s apart.
TEST(Run, SlowOpenLoopsRaiseTheServersHeaderTimeout) {
  cmb::harness::SweepConfig config;
  config.connections = {16, 64};
  config.rates = {0, 1000};
  EXPECT_EQ(cmb::harness::server_header_timeout(config).count(), 0);  // the 10 s default holds
  config.connections = {1000};
  config.rates = {0, 20, 2000};
  EXPECT_EQ(cmb::harness::server_header_timeout(config), 100001ms);
}

// Idle connections are an axis of their own: a row per count, the server
// holding them before the window opens (its accept count shows it), and a
// count no process may open is an error row naming the limit, not a row of
// connect errors that reads like the server's fault.
TEST(Run, IdleConnectionsAreAnAxisAndTooManyAreAnErrorRowNamingTheLimit) {
  const std::string csv = temp_csv("idle");
  const auto result = run_cmbench({"run", "--models", "epoll", "--workload", "", "--connections",
                                   "2", "--idle-connections", "0,300,2000000", "-d", "200ms",
                                   "--warmup", "0s", "--no-plots", "--out", csv});
  ASSERT_EQ(result.exit_code, 1) << result.err;  // the 2 000 000 point is not measured
  const auto rows = read_result_rows(csv);       // the error has commas: quoted
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].at("idle_connections"), "0");
  EXPECT_EQ(rows[1].at("idle_connections"), "300");
  EXPECT_EQ(rows[1].at("error"), "");
  EXPECT_GT(std::stod(rows[1].at("requests")), 0);
  // The idle 300 were accepted before the window opened: it counts at most
  // the 2 active ones.
  EXPECT_LE(std::stoi(rows[1].at("server_accepts_per_thread")), 2);
  EXPECT_NE(rows[1].at("artifacts").find("_i300_"), std::string::npos) << rows[1].at("artifacts");
  EXPECT_EQ(rows[2].at("idle_connections"), "2000000");
  EXPECT_NE(rows[2].at("error").find("RLIMIT_NOFILE"), std::string::npos) << rows[2].at("error");
}

TEST(Run, IdleConnectionsRaiseTheServersLimits) {
  cmb::harness::SweepConfig config;
  config.connections = {32};
  EXPECT_EQ(cmb::harness::server_max_connections(config), 0);  // the server's default
  config.idle_connections = {0, 50000};
  EXPECT_EQ(cmb::harness::server_max_connections(config), 50096);
  config.duration = 3s;
  config.warmup = 1s;
  // Held through connecting (up to 2 min), the warm-up and the window.
  EXPECT_EQ(cmb::harness::server_header_timeout(config), 128000ms);
}

// The io_uring settings that change its results are rows of their own:
// io-uring+SETUP passes `serve --uring SETUP`, probed like the model, and
// the CSV records each io-uring row's setup.
TEST(Run, IoUringSetupsAreRowsOfTheirOwn) {
  if (const auto why = cmb::servers::find_model("io-uring")->unavailable_reason; !why.empty())
    GTEST_SKIP() << why;
  const auto [result, csv, rows] =
      run_sweep("uring", {"--models", "io-uring,io-uring+coop-taskrun,io-uring+sqpoll,epoll",
                          "--workload", "", "--connections", "4", "-d", "200ms", "--warmup", "0s"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ASSERT_EQ(rows.size(), 4u);
  const std::vector<std::string> setups = {"defer-taskrun", "coop-taskrun", "sqpoll", ""};
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].at("uring_setup"), setups[i]) << rows[i].at("model");
    EXPECT_EQ(rows[i].at("error"), "") << rows[i].at("model");
    EXPECT_GT(std::stod(rows[i].at("requests")), 0) << rows[i].at("model");
  }
  const auto other = run_cmbench({"run", "--models", "epoll+sqpoll", "--no-plots"});
  EXPECT_EQ(other.exit_code, 2);
  EXPECT_NE(other.err.find("only io-uring takes +SETUP"), std::string::npos) << other.err;
  const auto unknown = run_cmbench({"run", "--models", "io-uring+fast", "--no-plots"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("defer-taskrun, coop-taskrun, sqpoll, plain"), std::string::npos)
      << unknown.err;
  const auto serve = run_cmbench({"serve", "--model", "epoll", "--uring", "sqpoll"});
  EXPECT_EQ(serve.exit_code, 2);
  EXPECT_NE(serve.err.find("io-uring model's ring only"), std::string::npos) << serve.err;
}

// `cmbench run` without a name is the demo only while no flag changes what
// it measures: then the run is the user's own, and the demo's claims are
// not judged against it. A named scenario is still judged, and its
// verdicts name the flags that changed its sweep.
TEST(Run, ClaimsAreJudgedOnlyOnTheirScenariosSweepOrSayWhatChangedIt) {
  const auto own = run_sweep("own-sweep", {"--models", "epoll", "--workload", "", "--connections",
                                           "1", "-d", "200ms", "--warmup", "0s"});
  ASSERT_EQ(own.result.exit_code, 0) << own.result.err;
  EXPECT_EQ(own.result.out.find("claims"), std::string::npos) << own.result.out;
  const auto own_manifest = cmb::testing::read_manifest(own.csv);
  EXPECT_EQ(own_manifest.at("scenario"), "");
  // Each model's look, as the charts draw it (servers/registry.cpp).
  ASSERT_FALSE(own_manifest.at("models").empty());
  EXPECT_EQ(own_manifest["models"][0].at("colour"), "#0072b2") << own_manifest["models"][0];
  EXPECT_EQ(own_manifest["models"][0].at("marker"), "circle");
  EXPECT_FALSE(own_manifest.contains("claims")) << own_manifest.dump();
  EXPECT_EQ(own_manifest.at("question"), "");

  const auto knee = run_sweep("changed-knee", {"knee", "--models", "epoll", "--connections", "1",
                                               "--rates=500", "-d", "200ms", "--warmup", "0s"});
  ASSERT_EQ(knee.result.exit_code, 0) << knee.result.err;
  EXPECT_NE(knee.result.out.find("The scenario's claims, on this machine:\n  (judged on a sweep "
                                 "that --models, --connections, --rates changed"),
            std::string::npos)
      << knee.result.out;
  const auto knee_manifest = cmb::testing::read_manifest(knee.csv);
  EXPECT_EQ(knee_manifest.at("scenario"), "knee");
  EXPECT_EQ(knee_manifest.at("claims_judged_without"),
            nlohmann::json::parse(R"(["--models", "--connections", "--rates"])"));
}

}  // namespace
