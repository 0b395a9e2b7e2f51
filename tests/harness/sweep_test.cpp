// The sweep's rules as unit tests of the sweep library, without starting a
// server: a model's spec, checking and resolving a sweep, the order of its
// points, A/B turns and --resume. (run_test.cpp runs the same end to end.)
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "harness/base/exit_codes.hpp"
#include "harness/base/words.hpp"
#include "harness/results/model_spec.hpp"
#include "harness/results/schema.hpp"
#include "harness/sweep/models.hpp"
#include "harness/sweep/plan.hpp"
#include "harness/sweep/workloads.hpp"

namespace {

using namespace cmb::harness;

// The message of the UsageError `action` throws; empty if none.
template <typename Action>
std::string usage_error(Action action) {
  try {
    action();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(ModelSpec, ParsesEveryPartAndWritesItBack) {
  const ModelSpec spec = parse_model_spec("io-uring+sqpoll:2@B");
  EXPECT_EQ(spec.name, "io-uring");
  EXPECT_EQ(spec.setup, "sqpoll");
  EXPECT_EQ(spec.threads, 2);
  EXPECT_EQ(spec.build, "B");
  EXPECT_EQ(spec.text(), "io-uring+sqpoll:2@B");
  EXPECT_EQ(spec.without_build(), "io-uring+sqpoll:2");
  for (const char* text : {"epoll", "thread-pool:32", "epoll@A", "io-uring+plain", "nginx:4@B"})
    EXPECT_EQ(parse_model_spec(text).text(), text);
  const ModelSpec plain = parse_model_spec("epoll");
  EXPECT_FALSE(plain.threads.has_value());
  EXPECT_TRUE(plain.setup.empty() && plain.build.empty());
}

TEST(ModelSpec, BadTextIsNamed) {
  for (const char* text : {"", ":4", "pool:", "pool:x", "pool:-1", "epoll@", "io-uring+", "+x"})
    EXPECT_THROW(parse_model_spec(text), std::invalid_argument) << text;
  try {
    parse_model_spec("pool:x");
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("model 'pool:x': THREADS must be a whole number"),
              std::string::npos)
        << e.what();
  }
}

SweepConfig sweep_of(std::vector<std::string> models) {
  SweepConfig config;
  config.models = std::move(models);
  return config;
}

TEST(ResolveSweep, ResolvesEachModelOnce) {
  SweepConfig config = sweep_of({"epoll", "thread-pool:8", "io-uring+sqpoll", "io-uring"});
  resolve_sweep(config);
  ASSERT_EQ(config.resolved.size(), 4u);
  EXPECT_EQ(config.model("thread-pool:8").threads(2), 8);
  EXPECT_EQ(config.model("epoll").threads(2), 2);  // the sweep's --threads
  EXPECT_FALSE(config.model("epoll").external);
  EXPECT_EQ(config.model("epoll").binary, "/proc/self/exe");
  EXPECT_FALSE(config.model("epoll").colour.empty());
  EXPECT_EQ(config.model("epoll").marker, "circle");
  EXPECT_TRUE(config.model("epoll").uring_setup.empty());
  // A ring of its own: a row of its own, with no colour of the model's.
  EXPECT_EQ(config.model("io-uring+sqpoll").uring_setup, "sqpoll");
  EXPECT_TRUE(config.model("io-uring+sqpoll").colour.empty());
  EXPECT_NE(config.model("io-uring+sqpoll").summary.find("; ring: sqpoll"), std::string::npos);
  EXPECT_FALSE(config.model("io-uring").uring_setup.empty());  // its default, named
  EXPECT_THROW(config.model("poll"), std::out_of_range);
  // Idempotent: resolving again changes nothing.
  resolve_sweep(config);
  EXPECT_EQ(config.models.size(), 4u);
}

TEST(ResolveSweep, WhatCannotBeSweptIsAUsageError) {
  SweepConfig unknown = sweep_of({"epoll", "no-such-model"});
  EXPECT_NE(usage_error([&] { resolve_sweep(unknown); }).find("unknown model 'no-such-model'"),
            std::string::npos);
  SweepConfig threads = sweep_of({"thread-pool:many"});
  EXPECT_NE(usage_error([&] { resolve_sweep(threads); }).find("THREADS must be a whole number"),
            std::string::npos);
  for (const char* model : {"epoll+sqpoll", "io-uring+nonsense"}) {
    SweepConfig setup = sweep_of({model});
    EXPECT_NE(usage_error([&] { resolve_sweep(setup); }).find("only io-uring takes +SETUP"),
              std::string::npos)
        << model;
  }
  SweepConfig none = sweep_of({});
  EXPECT_EQ(usage_error([&] { resolve_sweep(none); }), "no models to run");
  SweepConfig no_build = sweep_of({"epoll@Z"});
  EXPECT_NE(usage_error([&] { resolve_sweep(no_build); }).find("no --binary is labelled Z"),
            std::string::npos);
}

TEST(ResolveSweep, AnExternalServerIsAModelWithItsCommand) {
  SweepConfig config = sweep_of({"mine:4", "epoll"});
  add_external(config, "mine=./my-server --port {port}");
  resolve_sweep(config);
  const SweepModel& mine = config.model("mine:4");
  EXPECT_TRUE(mine.external);
  EXPECT_EQ(mine.command, "./my-server --port {port}");
  EXPECT_EQ(mine.summary, "external: ./my-server --port {port}");
  EXPECT_EQ(mine.threads(0), 4);
  for (const char* bad : {"mine", "mine=", "=cmd", "a@b=cmd", "a+b=cmd", "epoll=cmd", "mine=x",
                          "Mine=cmd", "a/b=cmd", "a_b=cmd"}) {
    EXPECT_FALSE(usage_error([&] { add_external(config, bad); }).empty()) << bad;
  }
  EXPECT_NE(usage_error([&] { add_external(config, "x=a 'b"); }).find("--external x=a 'b: "),
            std::string::npos);
}

TEST(ResolveSweep, BuildsLabelEveryModelInTheirOrder) {
  SweepConfig config = sweep_of({"epoll", "thread-pool:4"});
  add_build(config, CMBENCH_BIN, 0);
  add_build(config, std::string("new=") + CMBENCH_BIN, 1);
  ASSERT_EQ(config.builds.size(), 2u);
  EXPECT_EQ(config.builds[0].label, "A");
  EXPECT_TRUE(std::filesystem::path(config.builds[0].path).is_absolute());
  resolve_sweep(config);
  EXPECT_EQ(config.models, (std::vector<std::string>{"epoll@A", "epoll@new", "thread-pool:4@A",
                                                     "thread-pool:4@new"}));
  EXPECT_EQ(config.model("thread-pool:4@new").binary, config.builds[1].path);
  EXPECT_EQ(config.model("thread-pool:4@new").threads(0), 4);
  resolve_sweep(config);  // labelled once only
  EXPECT_EQ(config.models.size(), 4u);

  EXPECT_NE(usage_error([&] {
              add_build(config, std::string("A=") + CMBENCH_BIN, 2);
            }).find("label A given twice"),
            std::string::npos);
  EXPECT_NE(usage_error([&] {
              add_build(config, "C=/etc/hostname-not-there", 2);
            }).find("is not an executable file"),
            std::string::npos);
  EXPECT_FALSE(
      usage_error([&] { add_build(config, std::string("a:b=") + CMBENCH_BIN, 2); }).empty());

  SweepConfig over_ssh = sweep_of({"epoll"});
  add_build(over_ssh, CMBENCH_BIN, 0);
  over_ssh.server_host = parse_host("ssh:somewhere");
  EXPECT_NE(usage_error([&] { resolve_sweep(over_ssh); }).find("--binary runs builds from this"),
            std::string::npos);
}

// "model c=N r=R rep" for each planned point, in order.
std::vector<std::string> order_of(const std::vector<PointId>& points) {
  std::vector<std::string> order;
  for (const auto& p : points)
    order.push_back(p.model + " c=" + std::to_string(p.connections) + " #" +
                    std::to_string(p.repetition));
  return order;
}

TEST(PlanPoints, RepetitionsAreTheOuterLoopAndEveryRoundMeasuresEveryModel) {
  SweepConfig config = sweep_of({"epoll", "thread-pool:8"});
  config.connections = {1, 4};
  config.repeat = 2;
  resolve_sweep(config);
  const auto points = plan_points(config, {});
  EXPECT_EQ(order_of(points),
            (std::vector<std::string>{"epoll c=1 #1", "epoll c=4 #1", "thread-pool:8 c=1 #1",
                                      "thread-pool:8 c=4 #1", "epoll c=1 #2", "epoll c=4 #2",
                                      "thread-pool:8 c=1 #2", "thread-pool:8 c=4 #2"}));
  EXPECT_EQ(points[2].server_threads, 8);
  EXPECT_EQ(points[0].server_threads, 0);
}

TEST(PlanPoints, BuildsTakeTurnsPointByPointSwappingEachRound) {
  SweepConfig config = sweep_of({"epoll"});
  config.connections = {1, 4};
  config.repeat = 2;
  add_build(config, CMBENCH_BIN, 0);
  add_build(config, CMBENCH_BIN, 1);
  resolve_sweep(config);
  EXPECT_EQ(order_of(plan_points(config, {})),
            (std::vector<std::string>{"epoll@A c=1 #1", "epoll@B c=1 #1", "epoll@A c=4 #1",
                                      "epoll@B c=4 #1", "epoll@B c=1 #2", "epoll@A c=1 #2",
                                      "epoll@B c=4 #2", "epoll@A c=4 #2"}));
}

TEST(PlanPoints, ResumeSkipsWhatTheCsvHoldsButNotItsErrors) {
  SweepConfig config = sweep_of({"epoll", "poll"});
  config.connections = {1, 4};
  resolve_sweep(config);
  const auto all = plan_points(config, {});
  ASSERT_EQ(all.size(), 4u);
  const std::string csv = (std::filesystem::temp_directory_path() /
                           ("cmb-resume-" + std::to_string(::getpid()) + ".csv"))
                              .string();
  std::filesystem::remove(csv);
  {
    CsvWriter writer(csv);
    ResultRow measured;
    static_cast<PointId&>(measured) = all[0];
    writer.write(measured);
    ResultRow failed;
    static_cast<PointId&>(failed) = all[1];
    failed.error = "server 'epoll' did not start";
    writer.write(failed);
  }
  const std::set<PointId> done = measured_points(csv);
  EXPECT_EQ(done.size(), 1u);
  EXPECT_EQ(order_of(plan_points(config, done)),
            (std::vector<std::string>{"epoll c=4 #1", "poll c=1 #1", "poll c=4 #1"}));
  EXPECT_TRUE(measured_points(csv + ".absent").empty());
  std::filesystem::remove(csv);
}

}  // namespace

namespace {

TEST(CheckRates, WhatASearchDecidesItselfIsAUsageErrorToGive) {
  SweepConfig config;
  config.models = {"epoll"};
  config.rates = {0};
  EXPECT_EQ(usage_error([&] { check_rates(config); }), "") << "no search: nothing to check";
  config.search = "rate";
  EXPECT_EQ(usage_error([&] { check_rates(config); }), "");
  for (const auto& [change, says] :
       std::vector<std::pair<std::function<void(SweepConfig&)>, std::string>>{
           {[](SweepConfig& c) { c.repeat = 3; }, "leave out --repeat"},
           {[](SweepConfig& c) { c.requests_per_connection = 10; }, "--requests-per-connection"},
           {[](SweepConfig& c) { c.search_resolution = 1.5; }, "between 0 and 1"},
           {[](SweepConfig& c) { c.search = "connections"; }, "the one search is 'rate'"}}) {
    SweepConfig bad = config;
    change(bad);
    EXPECT_NE(usage_error([&] { check_rates(bad); }).find(says), std::string::npos) << says;
  }
  // The rates a scenario file gives (knee's) give way to the search's, noted.
  config.rates = {1000, 2000};
  EXPECT_NE(check_rates(config).find("(1000,2000) are not swept"), std::string::npos);
  EXPECT_EQ(config.rates, std::vector<double>{0});
}

// A polling load thread takes its CPU whole: never one of the server's.
TEST(CheckBusyPoll, NeedsLoadCpusApartFromTheServers) {
  SweepConfig config;
  config.server_cpus = {0};
  config.load_cpus = {1};
  config.busy_poll = true;
  EXPECT_EQ(usage_error([&] { check_busy_poll(config); }), "");
  config.load_cpus = {1, 0};
  EXPECT_NE(usage_error([&] { check_busy_poll(config); }).find("load CPU 0 is also a server CPU"),
            std::string::npos);
  config.pin = false;
  choose_cpus(config);
  EXPECT_NE(usage_error([&] { check_busy_poll(config); }).find("give --load-cpus"),
            std::string::npos);
  config.load_hosts = {parse_host("netns:cmb-load0")};  // its own machine: its own CPUs
  EXPECT_EQ(usage_error([&] { check_busy_poll(config); }), "");
  config.load_hosts.clear();
  config.busy_poll = false;
  EXPECT_EQ(usage_error([&] { check_busy_poll(config); }), "") << "no polling: nothing to check";
}

TEST(CheckRates, ARampChoosesItsRatesAndGoesWithNoSearch) {
  SweepConfig config;
  config.ramp = cmb::loadgen::rate_profile("1000:3000", "", std::chrono::seconds(4));
  config.rates = {500, 700};
  EXPECT_NE(check_rates(config).find("--ramp chooses the rates itself"), std::string::npos);
  EXPECT_EQ(config.rates, std::vector<double>{2000}) << "its points are at its mean";
  config.search = "rate";
  EXPECT_NE(usage_error([&] { check_rates(config); }).find("give one"), std::string::npos);
  // A connection of a ramp idles longest at its lowest rate.
  config.search.clear();
  config.connections = {32};
  config.ramp = cmb::loadgen::rate_profile("1:3000", "", std::chrono::seconds(4));
  EXPECT_GE(server_header_timeout(config).count(), 60'000);
}

// A search's rates are not known beforehand: its connections may idle
// between requests longer than a fixed sweep's would.
TEST(CheckRates, ASearchHoldsItsConnectionsThroughAWholePoint) {
  SweepConfig config;
  config.duration = std::chrono::seconds(3);
  config.warmup = std::chrono::seconds(1);
  EXPECT_EQ(server_header_timeout(config).count(), 0);
  config.search = "rate";
  EXPECT_GE(server_header_timeout(config), 2 * (config.duration + config.warmup));
}

}  // namespace

namespace {

// A workload is checked with the handler's own grammar: a typo or a bad
// value is named, with the keys there are, before anything is measured.
TEST(Workloads, TyposAndBadValuesAreNamed) {
  EXPECT_EQ(workload_problem(""), "");
  EXPECT_EQ(workload_problem("sleep_us=10000&bytes=64"), "");
  EXPECT_EQ(workload_problem("sleepus=1000"),
            "unknown key 'sleepus' (did you mean sleep_us?); the keys are cpu_us, sleep_us, "
            "wait_us, bytes");
  EXPECT_EQ(workload_problem("colour=red"),
            "unknown key 'colour'; the keys are cpu_us, sleep_us, wait_us, bytes");
  EXPECT_EQ(workload_problem("sleep_us=abc"),
            "sleep_us='abc' is not a whole number of microseconds from 0 to 60000000");
  EXPECT_NE(workload_problem("cpu_us=-5").find("cpu_us='-5'"), std::string::npos);
  EXPECT_NE(workload_problem("bytes=999999999999").find("from 0 to 67108864"), std::string::npos);

  EXPECT_EQ(usage_error([] { check_workloads({"", "bytes=13@95|sleep_us=20000@5"}); }), "");
  EXPECT_NE(usage_error([] {
              check_workloads({"bytes=13@95|sleep_us=x@5"});
            }).find("workload 'bytes=13@95|sleep_us=x@5': sleep_us='x'"),
            std::string::npos);
  EXPECT_NE(usage_error([] { check_workloads({"bytes=13@0"}); }), "");  // a weight of 0
}

TEST(Words, DidYouMeanSuggestsOnlyNearNames) {
  const std::vector<std::string> commands{"run", "load", "serve", "compare", "verify"};
  EXPECT_EQ(closest_word("rnu", commands), "run");  // a swap
  EXPECT_EQ(closest_word("compre", commands), "compare");
  EXPECT_EQ(closest_word("lod", commands), "load");
  EXPECT_EQ(closest_word("xyz", commands), "");
  EXPECT_EQ(closest_word("r", commands), "");  // one letter is no evidence
  EXPECT_EQ(did_you_mean("serv", commands), " (did you mean serve?)");
}

}  // namespace
