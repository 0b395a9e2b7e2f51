// Each scenario file, shortened by flags, shows the shape it promises.
// Thresholds are far from the measured values (see the gallery run in
// results/sample/) so that a noisy machine does not fail them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "harness/csv.hpp"
#include "support/process.hpp"
#include "support/results_csv.hpp"

namespace {

using cmb::testing::run_cmbench;
using Row = cmb::testing::ResultRowMap;

std::vector<Row> run_scenario(const std::string& name, std::vector<std::string> flags) {
  const auto csv = std::filesystem::temp_directory_path() / ("cmbench-scenario-" + name + ".csv");
  std::filesystem::remove(csv);
  std::vector<std::string> args = {"run", name, "--no-plots", "--out", csv.string()};
  args.insert(args.end(), flags.begin(), flags.end());
  const auto result = run_cmbench(args);
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_EQ(cmb::harness::read_csv_table(csv.string()).header.size(),
            cmb::harness::csv_columns().size());
  std::vector<Row> rows = cmb::testing::read_result_rows(csv.string());
  for (const auto& row : rows) EXPECT_EQ(row.at("error"), "") << row.at("model");
  return rows;
}

const Row& find(const std::vector<Row>& rows, const std::string& model,
                const std::string& connections, const std::string& rate = "0") {
  for (const auto& row : rows)
    if (row.at("model") == model && row.at("connections") == connections && row.at("rate") == rate)
      return row;
  ADD_FAILURE() << "no row for " << model << " c=" << connections << " rate=" << rate;
  static const Row empty = {{"rps", "0"},
                            {"latency_p50_us", "0"},
                            {"latency_p99_us", "0"},
                            {"server_threads_max", "0"},
                            {"server_ctx_involuntary", "0"}};
  return empty;
}

double number(const Row& row, const std::string& column) { return std::stod(row.at(column)); }

// CPU-bound work is capped by the server's core (one pinned core: 500 us of
// CPU per request allows 2000 req/s); connections beyond that add nothing.
TEST(Scenarios, CpuBoundFlattensAtTheCores) {
  const auto rows = run_scenario(
      "cpu-bound", {"--models", "thread-per-connection,epoll-workers", "--connections", "16,64",
                    "-d", "1s", "--warmup", "300ms", "--server-cpus", "0", "--load-cpus", "1"});
  for (const std::string model : {"thread-per-connection", "epoll-workers"}) {
    const double sixteen = number(find(rows, model, "16"), "rps"),
                 many = number(find(rows, model, "64"), "rps");
    EXPECT_GT(sixteen, 500) << model;
    EXPECT_LT(many, 2100) << model << " beat one core's 2000 req/s";
    EXPECT_LT(many, 1.2 * sixteen) << model << ": 64 connections " << many << " vs 16: " << sixteen;
  }
}

// Thousands of waiting connections: a thread each, or a handful in all.
TEST(Scenarios, C10kCostsAThreadPerConnectionOnlyForThreads) {
  const auto rows =
      run_scenario("c10k", {"--models", "thread-per-connection,epoll", "--connections", "500", "-d",
                            "1s", "--warmup", "1200ms"});
  EXPECT_GE(number(find(rows, "thread-per-connection", "500"), "server_threads_max"), 500);
  EXPECT_LE(number(find(rows, "epoll", "500"), "server_threads_max"), 3);
  // Both serve every connection's 1-second wait concurrently.
  EXPECT_GT(number(find(rows, "epoll", "500"), "rps"), 300);
}

// Slow requests make fast ones queue on a single loop, not with workers.
TEST(Scenarios, HeadOfLineBlocksOnlyTheSingleLoop) {
  const auto rows = run_scenario(
      "head-of-line",
      {"--models", "epoll,epoll-workers", "--connections", "16", "-d", "2s", "--warmup", "500ms"});
  const double loop = number(find(rows, "epoll", "16", "500"), "latency_p50_us");
  const double workers = number(find(rows, "epoll-workers", "16", "500"), "latency_p50_us");
  EXPECT_GT(loop, 4 * workers) << "epoll p50 " << loop << " us, epoll-workers p50 " << workers
                               << " us";
}

// Past a model's capacity the corrected p99 hits a wall.
TEST(Scenarios, KneeShowsAWall) {
  const auto rows = run_scenario(
      "knee", {"--models", "epoll", "--rates", "500,20000", "-d", "1s", "--warmup", "300ms"});
  const double low = number(find(rows, "epoll", "32", "500"), "latency_p99_us");
  const double high = number(find(rows, "epoll", "32", "20000"), "latency_p99_us");
  // The claim is the ratio. The bound on `low` only says "no wall yet":
  // 25 ms, since a loaded machine leaves a thread unscheduled for 15 ms now
  // and then (p99 of 500 requests is their fifth worst).
  EXPECT_LT(low, 25'000) << "p99 at 500 req/s";
  EXPECT_GT(high, 10 * low) << "p99 at 20000 req/s";
}

// Bendersky: N clients of 100 ms each take N x 100 ms on the iterative server.
TEST(Scenarios, TutorialIterativeTakesNTimesLonger) {
  const auto rows = run_scenario("tutorial", {"--connections", "8"});
  const double iterative = number(find(rows, "iterative", "8"), "duration_s");
  const double threaded = number(find(rows, "thread-per-connection", "8"), "duration_s");
  EXPECT_GT(iterative, 0.7);  // about 0.8 s
  EXPECT_LT(threaded, 0.4);   // about 0.1 s
}

}  // namespace
