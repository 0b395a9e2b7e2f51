// Behaviours particular to one model, which the shared conformance suite
// cannot state: what a model is for, or how it breaks.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "servers/counters.hpp"
#include "servers/registry.hpp"
#include "support/process.hpp"
#include "support/test_client.hpp"

namespace {

using cmb::testing::Child;
using cmb::testing::read_listening_port;
using cmb::testing::TestClient;
using namespace std::chrono_literals;

// What a `cmbench serve` process holds waiting for a worker in `stage`,
// read from its counters as the harness reads them.
cmb::servers::WaitingWork server_waiting(pid_t pid, cmb::servers::Stage stage) {
  return cmb::servers::CounterFile::of_process(pid).read().waiting[static_cast<size_t>(stage)];
}

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
  // The server knows the third waits for a worker: its wait is inbound.
  const auto waiting = server_waiting(server.pid(), cmb::servers::Stage::kInbound);
  EXPECT_EQ(waiting.count, 1u);
  EXPECT_GE(waiting.age_mean_us(), 100'000) << "it has waited through most of the 300 ms read";
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

// AMPED hands only blocking calls to its helpers: with the one helper held
// by a long sleep_us, cheap requests on other connections are still served
// by the loop at once (epoll-workers would queue them behind the helper).
TEST(Amped, CheapRequestsNeverWaitForAHelper) {
  Child server({CMBENCH_BIN, "serve", "--model", "amped", "--threads", "1", "--port", "0"});
  const uint16_t port = read_listening_port(server);
  ASSERT_NE(port, 0);
  TestClient blocked(port, 5s);
  ASSERT_TRUE(blocked.send_all("GET /?sleep_us=1000000 HTTP/1.1\r\nHost: t\r\n\r\n"));
  std::this_thread::sleep_for(100ms);  // the helper has it
  TestClient cheap(port, 5s);
  for (int i = 0; i < 20; ++i) {
    const auto response = cheap.get("/?cpu_us=100");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
  }
  pollfd p{blocked.fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0) << "the cheap requests waited for the busy helper";
  const auto slow = blocked.read_response();
  ASSERT_TRUE(slow);
  EXPECT_EQ(slow->status, 200);
}

// Helpers overlap blocking calls up to their number, and a connection's
// pipelined requests keep their order across the loop and a helper.
TEST(Amped, BlockingCallsOverlapAndPipelinesKeepOrder) {
  Child server({CMBENCH_BIN, "serve", "--model", "amped", "--threads", "4", "--port", "0"});
  const uint16_t port = read_listening_port(server);
  ASSERT_NE(port, 0);
  std::vector<std::unique_ptr<TestClient>> clients;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<TestClient>(port, 5s));
    ASSERT_TRUE(clients.back()->send_all(
        "GET /?sleep_us=400000&bytes=1 HTTP/1.1\r\nHost: t\r\n\r\n"
        "GET /?bytes=2 HTTP/1.1\r\nHost: t\r\n\r\n"
        "GET /?sleep_us=1000&wait_us=1000&bytes=3 HTTP/1.1\r\nHost: t\r\n\r\n"
        "GET /?bytes=4 HTTP/1.1\r\nHost: t\r\n\r\n"));
  }
  for (auto& client : clients) {
    for (uint64_t size : {1u, 2u, 3u, 4u}) {
      const auto response = client->read_response();
      ASSERT_TRUE(response) << size;
      EXPECT_EQ(response->status, 200);
      EXPECT_EQ(response->body_bytes, size);
    }
  }
  // In turn the four sleeps would take 1.6 s; overlapped, 0.4 s.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1200ms);
}

// Leader/followers binds a thread to an event, not to a connection: more
// keep-alive connections than threads are all served (thread-pool's third
// connection would wait for a worker), and blocking calls overlap up to
// the number of threads.
TEST(LeaderFollowers, ThreadsServeEventsNotConnections) {
  Child server(
      {CMBENCH_BIN, "serve", "--model", "leader-followers", "--threads", "2", "--port", "0"});
  const uint16_t port = read_listening_port(server);
  ASSERT_NE(port, 0);
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < 6; ++i) clients.push_back(std::make_unique<TestClient>(port, 5s));
  for (int round = 0; round < 3; ++round) {
    for (auto& client : clients) {
      const auto response = client->get("/");
      ASSERT_TRUE(response) << "a keep-alive connection beyond the two threads was not served";
      EXPECT_EQ(response->status, 200);
    }
  }
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 2; ++i)
    ASSERT_TRUE(clients[static_cast<size_t>(i)]->send_all(
        "GET /?sleep_us=500000 HTTP/1.1\r\nHost: t\r\n\r\n"));
  for (int i = 0; i < 2; ++i) {
    const auto response = clients[static_cast<size_t>(i)]->read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
  }
  // In turn the two sleeps would take 1 s; overlapped, 0.5 s.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 900ms);
}

// The threads of a process, from /proc/PID/status.
int thread_count(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  return -1;
}

// Fibers are thread-style code without a thread per connection: 300
// connections, each waiting 300 ms inside its request, are served at once
// by two carrier threads. But sleep_us is a real blocking call: it stalls
// its carrier and every fiber on it.
TEST(Fiber, ManyConnectionsFewThreadsAndABlockingCallStallsItsCarrier) {
  Child server({CMBENCH_BIN, "serve", "--model", "fiber", "--threads", "2", "--port", "0"});
  const uint16_t port = read_listening_port(server);
  ASSERT_NE(port, 0);
  std::vector<std::unique_ptr<TestClient>> clients;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 300; ++i) {
    clients.push_back(std::make_unique<TestClient>(port, 5s));
    ASSERT_TRUE(clients.back()->send_all("GET /?wait_us=300000 HTTP/1.1\r\nHost: t\r\n\r\n"));
  }
  const int threads = thread_count(server.pid());
  for (auto& client : clients) {
    const auto response = client->read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s) << "the waits did not overlap";
  EXPECT_GT(threads, 0);
  EXPECT_LE(threads, 6) << "a thread per connection?";
  clients.clear();

  Child single({CMBENCH_BIN, "serve", "--model", "fiber", "--threads", "1", "--port", "0"});
  const uint16_t one = read_listening_port(single);
  ASSERT_NE(one, 0);
  TestClient blocked(one, 5s), cheap(one, 5s);
  ASSERT_TRUE(cheap.get("/"));
  ASSERT_TRUE(blocked.send_all("GET /?sleep_us=500000 HTTP/1.1\r\nHost: t\r\n\r\n"));
  std::this_thread::sleep_for(50ms);  // the carrier is in the sleep
  const auto asked = std::chrono::steady_clock::now();
  ASSERT_TRUE(cheap.get("/"));
  EXPECT_GE(std::chrono::steady_clock::now() - asked, 300ms)
      << "a blocking call on the one carrier did not stall its other fibers";
  ASSERT_TRUE(blocked.read_response());
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
