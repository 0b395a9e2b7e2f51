// Each scenario, shortened by flags, holds the claims its own file makes:
// the test runs it and reads cmbench's verdicts from the manifest, so the
// rule lives once, in scenarios/*.toml (its `claims`), and the same check
// runs after every full `cmbench run SCENARIO`. The claims are ratios and
// shapes far from the measured values (see the gallery run in
// results/sample/), so a noisy machine twice as slow still holds them.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "harness/results/csv.hpp"
#include "harness/results/schema.hpp"
#include "support/process.hpp"
#include "support/results_csv.hpp"

namespace {

using cmb::testing::run_cmbench;

// No second of a point's timeline is above 1.5x the point's requests/s:
// responses after the window, or a partial second divided by too short a
// length, once drew thread-per-connection's last second at 23 000 req/s
// against 5 935 (#28). A second of a steady point is within a few per
// cent of its mean; 1.5x leaves room for a stall in one of three seconds.
void expect_timelines_within_their_points(const std::filesystem::path& csv,
                                          const cmb::harness::CsvTable& table) {
  const int rps = table.column("rps"), artifacts = table.column("artifacts"),
            model = table.column("model");
  ASSERT_GE(rps, 0);
  ASSERT_GE(artifacts, 0);
  for (const auto& row : table.rows) {
    if (!table.measured(row) || row.at(static_cast<size_t>(artifacts)).empty()) continue;
    const double point_rps = std::stod(row.at(static_cast<size_t>(rps)));
    const auto path =
        csv.parent_path() / (row.at(static_cast<size_t>(artifacts)) + ".timeline.csv");
    const cmb::harness::CsvTable timeline = cmb::harness::read_csv_table(path.string());
    const int second_rps = timeline.column("rps");
    ASSERT_GE(second_rps, 0) << path;
    for (const auto& second : timeline.rows)
      EXPECT_LE(std::stod(second.at(static_cast<size_t>(second_rps))), 1.5 * point_rps)
          << row.at(static_cast<size_t>(model)) << ", second " << second.at(0) << " of " << path;
  }
}

// Runs `cmbench run NAME FLAGS...` and checks that every claim of the
// scenario was measured and held, and its timelines.
void expect_claims_hold(const std::string& name, std::vector<std::string> flags, size_t claims) {
  const auto csv = std::filesystem::temp_directory_path() / ("cmbench-scenario-" + name + ".csv");
  std::filesystem::remove(csv);
  std::vector<std::string> args = {"run", name, "--no-plots", "--out", csv.string()};
  args.insert(args.end(), flags.begin(), flags.end());
  const auto result = run_cmbench(args);
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  const cmb::harness::CsvTable table = cmb::harness::read_csv_table(csv.string());
  const int error = table.column("error");
  for (const auto& row : table.rows) EXPECT_EQ(row.at(static_cast<size_t>(error)), "");
  expect_timelines_within_their_points(csv, table);

  const nlohmann::json manifest = cmb::testing::read_manifest(csv.string());
  ASSERT_TRUE(manifest.contains("expectations")) << manifest.dump(2);
  const auto& verdicts = manifest["expectations"];
  EXPECT_EQ(verdicts.size(), claims) << "the scenario's claims changed: update the count here";
  for (const auto& verdict : verdicts)
    EXPECT_EQ(verdict["held"], true) << verdict["claim"] << "\n  " << verdict["measured"];
  EXPECT_NE(
      result.out.find(std::to_string(claims) + " of " + std::to_string(claims) + " claims held."),
      std::string::npos)
      << result.out;
}

// Blocking requests: one thread per connection wins, one loop stalls.
TEST(Scenarios, WhyMultithreadedHoldsItsClaims) {
  expect_claims_hold("why-multithreaded",
                     {"--connections", "1,64", "-d", "500ms", "--warmup", "200ms"}, 9);
}

// CPU-bound work is capped by the server's cores; connections beyond that add nothing.
TEST(Scenarios, CpuBoundFlattensAtTheCores) {
  expect_claims_hold("cpu-bound",
                     {"--models", "thread-per-connection,epoll-workers", "--connections", "16,64",
                      "-d", "1s", "--warmup", "300ms", "--server-cpus", "0", "--load-cpus", "1"},
                     3);
}

// Little's law: every request waits 100 ms; the event loop and the fibers
// grow with the connections, a pool of 100 threads stays at 1 000 req/s.
TEST(Scenarios, LittlesLawCapsOnlyTheThreadPool) {
  expect_claims_hold("littles-law",
                     {"--models", "thread-pool:100,epoll,fiber", "--connections", "100,1000", "-d",
                      "500ms", "--warmup", "400ms"},
                     5);
}

// New connections at a low rate: four EPOLLEXCLUSIVE loops leave one loop
// nearly all of them; SO_REUSEPORT and prefork's accept() spread them.
TEST(Scenarios, AcceptBalancePilesOntoOneExclusiveLoop) {
  expect_claims_hold("accept-balance", {"--rates", "1000", "-d", "1s", "--warmup", "300ms"}, 4);
}

// SEDA's Figure 2 on a current kernel: 1 024 threads do not collapse; the
// thread per connection stays flat, not above the event loop. The fewest
// connections are 64, not 16: with another process taking half a CPU, a
// closed loop of 16 waits for the CPU at every round trip and serves half
// as much (measured: epoll 11.5k req/s at 16, 22k at 1 024; 19k at 64).
// A whole second per point: in half a second, one dip of the shared
// machine took thread-per-connection's 1 024 point to 15k against 21.6k.
// Three repetitions, the claims judging their medians: the CPU claim
// (1.1x) measured 1.15-1.17x in five runs, but 1.07x in a clean clone's
// suite, its epoll point not steady (40.9 us a request against 36.4-37.3).
TEST(Scenarios, SedaCollapseDoesNotHappenButThreadsTrailTheLoop) {
  expect_claims_hold("seda-collapse",
                     {"--connections", "64,1024", "-d", "1s", "--warmup", "300ms", "--repeat", "3"},
                     5);
}

// Idle connections beside 32 busy ones: select refuses the busy ones past
// FD_SETSIZE, poll pays for every idle one, epoll and io_uring do not.
// 8 000 idle, not fewer: at 3 000 poll's cost rose 2.6x to 3.9x, and a busy
// machine's noisy first point failed the 3x claim; at 8 000 it rose 21x to 37x.
TEST(Scenarios, IdleConnectionsCostOnlySelectAndPoll) {
  expect_claims_hold("idle-connections",
                     {"--idle-connections", "0,8000", "-d", "500ms", "--warmup", "200ms"}, 5);
}

// Mostly idle connections: a thread each for thread-per-connection, a few
// threads for the loop and the fibers, and least memory for io_uring.
TEST(Scenarios, C100kCostsAThreadPerIdleConnection) {
  expect_claims_hold("c100k",
                     {"--models", "thread-per-connection,epoll,io-uring,fiber",
                      "--idle-connections", "0,4000", "-d", "500ms", "--warmup", "200ms"},
                     4);
}

// Thousands of waiting connections: a thread each, or a handful in all.
TEST(Scenarios, C10kCostsAThreadPerConnectionOnlyForThreads) {
  expect_claims_hold("c10k",
                     {"--models", "thread-per-connection,epoll", "--connections", "500", "-d", "1s",
                      "--warmup", "1200ms"},
                     3);
}

// Slow requests make fast ones queue on a single loop, not with workers.
TEST(Scenarios, HeadOfLineBlocksOnlyTheSingleLoop) {
  expect_claims_hold(
      "head-of-line",
      {"--models", "epoll,epoll-workers", "--connections", "16", "-d", "2s", "--warmup", "500ms"},
      2);
}

// Past a model's capacity the corrected p99 hits a wall. Its claim on the
// lowest rate's p99 is 25 ms: a loaded machine leaves a thread unscheduled
// for 15 ms now and then (p99 of 500 requests is their fifth worst).
TEST(Scenarios, KneeShowsAWall) {
  expect_claims_hold(
      "knee", {"--models", "epoll", "--rates", "500,20000", "-d", "1s", "--warmup", "300ms"}, 2);
}

// Bendersky: N clients of 100 ms each take N x 100 ms on the iterative server.
TEST(Scenarios, TutorialIterativeTakesNTimesLonger) {
  expect_claims_hold("tutorial", {"--connections", "8"}, 2);
}

// The runtimes beside their twins. The warm-up stays 800 ms: a server that
// serves one connection at a time still owes the last point's 64 clients
// 630 ms of their requests when the next point starts (the scenario's
// file says so too).
TEST(Scenarios, RuntimesBehaveLikeTheirTwins) {
  expect_claims_hold("runtimes", {"--connections", "1,64", "-d", "300ms", "--warmup", "800ms"}, 13);
}

}  // namespace
