// Clients nobody here wrote: ab (HTTP/1.0, a connection per request) and wrk
// (keep-alive) must complete against every model that serves connections
// concurrently, with zero failed requests. Skipped where they are not
// installed (scripts/deps installs them).
#include <gtest/gtest.h>
#include <unistd.h>

#include <regex>

#include "servers/registry.hpp"
#include "support/model_names.hpp"
#include "support/process.hpp"

namespace {

using cmb::testing::Child;

class RealClients : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    server_ = std::make_unique<Child>(
        std::vector<std::string>{CMBENCH_BIN, "serve", "--model", GetParam(), "--port", "0"});
    const uint16_t port = cmb::testing::read_listening_port(*server_);
    ASSERT_NE(port, 0) << GetParam() << " did not print its readiness line";
    address_ = "127.0.0.1:" + std::to_string(port);
  }
  std::unique_ptr<Child> server_;
  std::string address_;
};

TEST_P(RealClients, ApacheBenchWithoutKeepAlive) {
  if (::access("/usr/bin/ab", X_OK) != 0) GTEST_SKIP() << "ab not installed (apache2-utils)";
  const auto result =
      Child({"/usr/bin/ab", "-q", "-n", "2000", "-c", "16", "http://" + address_ + "/"})
          .wait(std::chrono::seconds(60));
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_NE(result.out.find("Complete requests:      2000"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("Failed requests:        0"), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find("Non-2xx"), std::string::npos) << result.out;
}

TEST_P(RealClients, WrkWithKeepAlive) {
  if (::access("/usr/bin/wrk", X_OK) != 0) GTEST_SKIP() << "wrk not installed";
  const auto result =
      Child({"/usr/bin/wrk", "-t", "1", "-c", "16", "-d", "1s", "http://" + address_ + "/"})
          .wait(std::chrono::seconds(30));
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_TRUE(std::regex_search(result.out, std::regex(R"(\n +[1-9][0-9]* requests in)")))
      << result.out;
  EXPECT_EQ(result.out.find("Socket errors"), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find("Non-2xx"), std::string::npos) << result.out;
}

// Not the iterative server, which serves one connection at a time: these
// clients hold 16 at once.
INSTANTIATE_TEST_SUITE_P(ConcurrentModels, RealClients,
                         ::testing::ValuesIn(cmb::testing::models_where(
                             [](const cmb::servers::ModelInfo& m) { return m.concurrent; })),
                         cmb::testing::model_test_name);

}  // namespace
