// Behaviours particular to one model, which the shared conformance suite
// cannot state: what a model is for, or how it breaks.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "servers/registry.hpp"
#include "support/process.hpp"
#include "support/test_client.hpp"

namespace {

using cmb::testing::Child;
using cmb::testing::read_listening_port;
using cmb::testing::TestClient;
using namespace std::chrono_literals;

// Connections beyond the pool wait, unserved, until a worker frees up:
// shown, not hidden.
TEST(ThreadPool, ConnectionsBeyondThePoolWaitForAWorker) {
  Child server({CMBENCH_BIN, "serve", "--model", "thread-pool", "--threads", "2", "--port", "0"});
  const uint16_t port = read_listening_port(server);
  ASSERT_NE(port, 0);
  auto first = std::make_unique<TestClient>(port);
  TestClient second(port);
  ASSERT_TRUE(first->get("/"));
  ASSERT_TRUE(second.get("/"));
  TestClient third(port, 300ms);
  ASSERT_TRUE(third.send_all("GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_FALSE(third.read_response()) << "a third connection was served by a pool of two";
  first.reset();  // the first client leaves: its worker takes the third connection
  third.set_timeout(5s);
  const auto answered = third.read_response();
  ASSERT_TRUE(answered);
  EXPECT_EQ(answered->status, 200);
}

// The states of a process's children ('Z' for a zombie), from
// /proc/PID/task/*/children.
std::string child_states(pid_t parent) {
  std::string states;
  const std::string task = "/proc/" + std::to_string(parent) + "/task";
  for (const auto& thread : std::filesystem::directory_iterator(task)) {
    std::ifstream children(thread.path() / "children");
    for (int pid; children >> pid;) {
      std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
      std::string text;
      std::getline(stat, text);
      const size_t paren = text.rfind(')');
      if (paren != std::string::npos && text.size() > paren + 2) states += text[paren + 2];
    }
  }
  return states;
}

// The parent reaps every child: no zombies pile up.
TEST(ForkPerConnection, ReapsItsChildren) {
  Child server({CMBENCH_BIN, "serve", "--model", "fork-per-connection", "--port", "0"});
  const uint16_t port = read_listening_port(server);
  ASSERT_NE(port, 0);
  {
    // First show that a child serving a connection is visible at all.
    TestClient held(port);
    ASSERT_TRUE(held.get("/"));
    ASSERT_FALSE(child_states(server.pid()).empty()) << "no child seen: cannot check reaping here";
  }
  for (int i = 0; i < 50; ++i) {
    TestClient client(port);
    ASSERT_TRUE(client.send_all("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
    ASSERT_TRUE(client.read_response());
  }
  std::this_thread::sleep_for(500ms);  // the parent reaps at least every 100 ms
  EXPECT_EQ(child_states(server.pid()).find('Z'), std::string::npos) << child_states(server.pid());
}

// Optional backends skip with the reason, like liburing's tests.
TEST(Registry, UnavailableModelsSayWhy) {
  int unavailable = 0;
  for (const auto& model : cmb::servers::registered_models()) {
    if (model.unavailable_reason.empty()) continue;
    ++unavailable;
    std::cout << "[ SKIPPED  ] " << model.name << ": " << model.unavailable_reason << "\n";
  }
  if (unavailable == 0) GTEST_SKIP() << "every registered model runs here";
  EXPECT_GT(cmb::servers::available_model_names().size(), 0u);
}

}  // namespace
