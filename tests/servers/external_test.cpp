// The external-server mechanism, with our own binary as the "external"
// command (so it runs everywhere), and nginx where it is installed.
#include "servers/external.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "net/spawn.hpp"
#include "servers/registry.hpp"
#include "support/process.hpp"
#include "support/test_client.hpp"

namespace {

using cmb::servers::ExternalCommand;
using cmb::servers::ServerConfig;
using cmb::testing::Child;
using cmb::testing::descendants;
using cmb::testing::process_gone;
using cmb::testing::read_listening_port;
using cmb::testing::TestClient;
using namespace std::chrono_literals;

ServerConfig local_config() {
  ServerConfig config;
  config.port = 0;
  config.threads = 3;
  config.limits.header_timeout = 1500ms;
  return config;
}

TEST(External, PlaceholdersAreReplacedAndUnknownOnesRefused) {
  const auto config = local_config();
  const auto address = cmb::net::resolve("127.0.0.1", 8123);
  EXPECT_EQ(cmb::servers::expand_placeholders(
                "{host} {port} {address} {threads} {dir} {max_connections} {header_timeout_ms}",
                config, address, "/d"),
            "127.0.0.1 8123 127.0.0.1:8123 3 /d 10000 1500");
  EXPECT_EQ(cmb::servers::expand_placeholders("listen [::1]:{port};", config,
                                              cmb::net::resolve("::1", 80), "/d"),
            "listen [::1]:80;");
  EXPECT_THROW(cmb::servers::expand_placeholders("{nope}", config, address, "/d"),
               std::invalid_argument);
  // Other braces are not placeholders: an nginx block, a shell's ${VAR}.
  EXPECT_EQ(cmb::servers::expand_placeholders("events {\n} ${home} {port", config, address, "/d"),
            "events {\n} ${home} {port");
}

TEST(External, CommandLinesSplitLikeAShell) {
  using cmb::servers::split_command_line;
  EXPECT_EQ(split_command_line("nginx -p {dir}  -g 'daemon off;'"),
            (std::vector<std::string>{"nginx", "-p", "{dir}", "-g", "daemon off;"}));
  EXPECT_EQ(split_command_line(R"(a "b \"c\" d" e\ f '')"),
            (std::vector<std::string>{"a", "b \"c\" d", "e f", ""}));
  EXPECT_THROW(split_command_line("a 'b"), std::invalid_argument);
  EXPECT_THROW(split_command_line("   "), std::invalid_argument);
}

// Our own `cmbench serve` stands in for someone else's server: started on
// the port chosen, served through, stopped with its whole process group.
TEST(External, RunsACommandOnThePortItChoseAndStopsIt) {
  ExternalCommand command;
  command.argv = {CMBENCH_BIN, "serve",  "--model", "prefork", "--threads",
                  "{threads}", "--host", "{host}",  "--port",  "{port}"};
  command.ready_line = "listening on";
  auto server = cmb::servers::make_external_server(local_config(), command);
  const uint16_t port = server->address().port();
  ASSERT_NE(port, 0);
  std::thread serving([&] { server->run(); });
  {
    TestClient client(port, 5s);
    for (int i = 0; i < 3; ++i) {
      const auto response = client.get("/?bytes=5");
      ASSERT_TRUE(response);
      EXPECT_EQ(response->body_bytes, 5u);
    }
  }
  server->stop();
  serving.join();
  // prefork's children went with the group: nothing listens any more.
  TestClient after(port, 1s);
  EXPECT_FALSE(after.connected());
}

TEST(External, ACommandThatFailsOrNeverListensIsAnError) {
  ExternalCommand missing;
  missing.argv = {"/nonexistent/server", "{port}"};
  try {
    cmb::servers::make_external_server(local_config(), missing);
    FAIL() << "a command that cannot be run was taken for a server";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("before it was ready"), std::string::npos)
        << error.what();
  }
  ExternalCommand silent;
  silent.argv = {"/bin/sleep", "30"};
  silent.ready_timeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  try {
    cmb::servers::make_external_server(local_config(), silent);
    FAIL() << "a command that never listens was taken for a server";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what())
                  .find("not ready within 300 ms: nothing accepted on "
                        "127.0.0.1:"),
              std::string::npos)
        << error.what();
    EXPECT_NE(std::string(error.what()).find("does the command bind {port}"), std::string::npos);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "the sleep was not ended";
  // Neither left its directory behind ({dir} names it in the command).
  ExternalCommand leaves_dir;
  leaves_dir.argv = {"/bin/sh", "-c", "echo {dir} >&2; exit 3"};
  leaves_dir.files = {{"marker", "x"}};
  EXPECT_THROW(cmb::servers::make_external_server(local_config(), leaves_dir), std::runtime_error);
  for (const auto& entry :
       std::filesystem::directory_iterator(std::filesystem::temp_directory_path())) {
    if (entry.path().filename().string().rfind("cmbench-external-", 0) != 0) continue;
    EXPECT_FALSE(std::filesystem::exists(entry.path() / "marker"))
        << entry.path() << " outlived a failed start";
  }
}

// The reference row: where nginx is installed, `cmbench serve --model nginx`
// serves the hello response with keep-alive and stops with its workers.
TEST(Nginx, ServesHelloWithKeepAliveAndStopsWithItsWorkers) {
  const auto model = cmb::servers::find_model("nginx");
  ASSERT_TRUE(model);
  if (!model->unavailable_reason.empty()) GTEST_SKIP() << model->unavailable_reason;
  Child server({CMBENCH_BIN, "serve", "--model", "nginx", "--threads", "2", "--port", "0"});
  const uint16_t port = read_listening_port(server);
  ASSERT_NE(port, 0);
  TestClient client(port, 5s);
  for (int i = 0; i < 100; ++i) {
    const auto response = client.get("/");
    ASSERT_TRUE(response) << "request " << i;
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body_bytes, 13u);
    EXPECT_TRUE(response->keep_alive);
  }
  ::kill(server.pid(), SIGTERM);
  EXPECT_EQ(server.wait(10s).exit_code, 0);
  TestClient after(port, 1s);
  EXPECT_FALSE(after.connected()) << "nginx outlived cmbench serve";
}

// `kill -9` of `cmbench serve` gives it no chance to stop its command: the
// command's whole tree must go all the same, and its port stop answering.
// Root only (a PID namespace needs CAP_SYS_ADMIN; elsewhere the process
// group is all there is, and docs/models.md says so).
void expect_killed_serve_leaves_nothing(const std::vector<std::string>& serve, size_t at_least) {
  if (!cmb::net::pid_namespaces_available())
    GTEST_SKIP() << "no PID namespaces for this user (needs root or CAP_SYS_ADMIN)";
  Child server(serve);
  const uint16_t port = read_listening_port(server);
  ASSERT_NE(port, 0);
  // Ready is the port accepting: a master may fork its workers just after.
  std::vector<pid_t> tree = descendants(server.pid());
  for (const auto until = std::chrono::steady_clock::now() + 10s;
       tree.size() < at_least && std::chrono::steady_clock::now() < until;
       tree = descendants(server.pid()))
    std::this_thread::sleep_for(20ms);
  ASSERT_GE(tree.size(), at_least) << "not the process tree expected";
  ::kill(server.pid(), SIGKILL);
  server.wait(10s);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  const auto all_gone = [&] {
    return std::all_of(tree.begin(), tree.end(), [](pid_t pid) { return process_gone(pid); });
  };
  while (!all_gone() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  for (const pid_t pid : tree) EXPECT_TRUE(process_gone(pid)) << "pid " << pid << " outlived serve";
  TestClient after(port, 1s);
  EXPECT_FALSE(after.connected()) << "something still answers on the killed server's port";
}

TEST(Nginx, AKilledServeLeavesNoWorkerBehind) {
  const auto model = cmb::servers::find_model("nginx");
  ASSERT_TRUE(model);
  if (!model->unavailable_reason.empty()) GTEST_SKIP() << model->unavailable_reason;
  // Our init, nginx's master and its two workers.
  expect_killed_serve_leaves_nothing(
      {CMBENCH_BIN, "serve", "--model", "nginx", "--threads", "2", "--port", "0"}, 4);
}

TEST(External, AKilledServeTakesACommandThatForksWorkersWithIt) {
  // A server that forks a worker after it binds (both accept on one
  // socket), ready once it says it has forked.
  const std::string forking =
      "/usr/bin/python3 -c \"import os, socket\n"
      "s = socket.create_server(('127.0.0.1', {port}))\n"
      "if os.fork():\n"
      "    print('forked', flush=True)\n"
      "while True:\n"
      "    c = s.accept()[0]\n"
      "    c.sendall(b'HTTP/1.1 200 OK\\\\r\\\\nContent-Length: 0\\\\r\\\\n\\\\r\\\\n')\n"
      "    c.close()\"";
  // Our init, the command and its worker.
  expect_killed_serve_leaves_nothing(
      {CMBENCH_BIN, "serve", "--command", forking, "--ready-line", "forked", "--port", "0"}, 3);
}

}  // namespace
