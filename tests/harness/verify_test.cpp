// `cmbench verify` as a user runs it: a model passes, and servers broken
// in one way each fail, naming the check that caught them. (Every
// model passing every check is ModelConformance.PassesEveryVerifyCheck.)
#include <gtest/gtest.h>

#include <string>

#include "servers/registry.hpp"
#include "support/model_server.hpp"
#include "support/process.hpp"

namespace {

using cmb::testing::run_cmbench;

// "  NAME  OUTCOME  ..." for the check of that name, or "".
std::string line_of(const std::string& out, const std::string& check) {
  const size_t at = out.find("  " + check + " ");
  if (at == std::string::npos) return "";
  return out.substr(at, out.find('\n', at) - at);
}

TEST(Verify, AModelPassesEveryCheck) {
  const auto result = run_cmbench({"verify", "--model", "epoll"});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_NE(result.out.find("measurement: 12 passed, 0 failed, 0 skipped; hardening: 4 passed, 0 "
                            "failed, 0 skipped"),
            std::string::npos)
      << result.out;
  EXPECT_NE(line_of(result.out, "sleep_us").find("pass"), std::string::npos) << result.out;
}

// The iterative server says it serves one connection at a time: the
// checks that need more are skipped, and say why.
TEST(Verify, WhatAModelDoesNotClaimIsSkipped) {
  const auto result = run_cmbench({"verify", "--model", "iterative"});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  for (const char* check : {"wait_us", "slow-client"})
    EXPECT_NE(line_of(result.out, check).find("skip  serves one connection at a time"),
              std::string::npos)
        << result.out;
}

// nginx serving its hello passes what applies to a static server; the
// workload's checks and cmbench's limits are skipped.
TEST(Verify, NginxPassesWhatAppliesToAStaticServer) {
  const auto nginx = cmb::servers::find_model("nginx");
  ASSERT_TRUE(nginx);
  if (!nginx->unavailable_reason.empty()) GTEST_SKIP() << nginx->unavailable_reason;
  const auto result = run_cmbench({"verify", "--model", "nginx"});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  for (const char* check : {"hello", "keep-alive", "pipelining", "split", "slow-client",
                            "connection-close", "content-length"})
    EXPECT_NE(line_of(result.out, check).find("pass"), std::string::npos) << check << result.out;
  for (const char* check : {"bytes", "sleep_us", "status-431"})
    EXPECT_NE(line_of(result.out, check).find("skip  a static server"), std::string::npos)
        << check << result.out;
}

// A server already listening, by its URL.
TEST(Verify, AUrlIsChecked) {
  cmb::testing::ModelServer server("thread-per-connection");
  ASSERT_NE(server.port(), 0);
  const auto result =
      run_cmbench({"verify", "--url", "http://127.0.0.1:" + std::to_string(server.port()) + "/"});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_NE(result.out.find("0 failed"), std::string::npos) << result.out;
}

// Nothing listening: one sentence and exit 2, not a failure for every check.
TEST(Verify, AUrlWhereNothingListensIsOneUsageError) {
  uint16_t port;
  {
    cmb::testing::ModelServer gone("epoll");  // a port that was free a moment ago
    port = gone.port();
  }
  const auto result =
      run_cmbench({"verify", "--url", "http://127.0.0.1:" + std::to_string(port) + "/"});
  EXPECT_EQ(result.exit_code, 2) << result.out << result.err;
  EXPECT_NE(result.err.find("cannot connect to 127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << result.err;
  EXPECT_EQ(result.out.find("FAIL"), std::string::npos) << result.out;
}

struct Broken {
  const char* mode;
  const char* caught_by;
};

class VerifyBroken : public ::testing::TestWithParam<Broken> {};

// tests/support/broken_server.py, wrong in one way: verify exits 1 and the
// check made for that way fails.
TEST_P(VerifyBroken, FailsNamingTheCheck) {
  const std::string script = std::string(CMB_SOURCE_DIR) + "/tests/support/broken_server.py";
  const auto result = run_cmbench(
      {"verify", "--external",
       std::string("broken=/usr/bin/python3 ") + script + " {port} " + GetParam().mode});
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_NE(line_of(result.out, GetParam().caught_by).find("FAIL"), std::string::npos)
      << result.out;
  EXPECT_NE(line_of(result.out, "hello").find("pass"), std::string::npos)
      << "it serves; only its flaw fails\n"
      << result.out;
}

INSTANTIATE_TEST_SUITE_P(ThreeWays, VerifyBroken,
                         ::testing::Values(Broken{"ignores-sleep", "sleep_us"},
                                           Broken{"reorders", "pipelining"},
                                           Broken{"bad-length", "content-length"},
                                           Broken{"nagle", "prompt"}, Broken{"lax", "status-400"}),
                         [](const ::testing::TestParamInfo<Broken>& param) {
                           std::string name = param.param.mode;
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

// The checks come in two groups, each headed and counted: what a
// measurement needs, then hardening. A server that answers hello whatever
// the query fails the workload's checks, and passes with --static, which
// skips them and cmbench's limits.
TEST(Verify, ChecksComeInTwoGroupsAndStaticSkipsTheWorkload) {
  const std::string server = std::string("hello=/usr/bin/python3 ") + CMB_SOURCE_DIR +
                             "/tests/support/broken_server.py {port} hello-only";
  const auto as_is = run_cmbench({"verify", "--external", server});
  EXPECT_EQ(as_is.exit_code, 1) << as_is.out << as_is.err;
  const size_t measurement = as_is.out.find("what a measurement needs:");
  const size_t hardening = as_is.out.find("hardening (bad input");
  ASSERT_NE(measurement, std::string::npos) << as_is.out;
  ASSERT_NE(hardening, std::string::npos) << as_is.out;
  EXPECT_LT(measurement, as_is.out.find("  sleep_us "));
  EXPECT_LT(as_is.out.find("  sleep_us "), hardening);
  EXPECT_LT(hardening, as_is.out.find("  status-400 "));
  EXPECT_NE(line_of(as_is.out, "bytes").find("FAIL"), std::string::npos) << as_is.out;

  const auto statically = run_cmbench({"verify", "--static", "--external", server});
  EXPECT_EQ(statically.exit_code, 0) << statically.out << statically.err;
  EXPECT_NE(statically.out.find("measurement: 8 passed, 0 failed, 4 skipped; hardening: 0 "
                                "passed, 0 failed, 4 skipped"),
            std::string::npos)
      << statically.out;
}

TEST(Verify, OneServerAtATime) {
  EXPECT_EQ(run_cmbench({"verify"}).exit_code, 2);
  EXPECT_EQ(run_cmbench({"verify", "--model", "epoll", "--url", "http://127.0.0.1:1/"}).exit_code,
            2);
  EXPECT_EQ(run_cmbench({"verify", "--model", "no-such-model"}).exit_code, 2);
}

}  // namespace
