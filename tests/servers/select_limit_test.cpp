// select() cannot watch a descriptor >= FD_SETSIZE: the select model must
// refuse such a connection cleanly (close it) and keep serving the others,
// never pass it to FD_SET (which would write past the fd_set).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <unistd.h>

#include <thread>
#include <vector>

#include "servers/counters.hpp"
#include "servers/registry.hpp"
#include "support/test_client.hpp"

namespace cmb::servers {
namespace {

TEST(SelectModel, RefusesDescriptorsAboveFdSetSize) {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_max < FD_SETSIZE + 64) GTEST_SKIP() << "the descriptor limit is below FD_SETSIZE";
  rlimit raised = limit;
  raised.rlim_cur = std::max<rlim_t>(limit.rlim_cur, FD_SETSIZE + 64);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &raised), 0);

  ServerConfig config;
  config.port = 0;
  auto server = make_server("select", config);
  std::thread thread([&] { server->run(); });
  const CounterValues before = read_counters();

  // Fill every descriptor below FD_SETSIZE, so the next accept gets a higher one.
  std::vector<int> fillers;
  for (int fd = ::open("/dev/null", O_RDONLY); fd >= 0 && fd < FD_SETSIZE;
       fd = ::open("/dev/null", O_RDONLY))
    fillers.push_back(fd);
  {
    // Client and accepted socket both land above FD_SETSIZE now.
    cmb::testing::TestClient refused(server->address().port(), std::chrono::seconds(5));
    ASSERT_TRUE(refused.connected());
    EXPECT_GE(refused.fd(), FD_SETSIZE);
    refused.send_all("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    EXPECT_FALSE(refused.read_response());
    EXPECT_TRUE(refused.closed_by_peer());
  }
  EXPECT_EQ(read_counters().refused - before.refused, 1u) << "the refusal was not counted";
  for (int fd : fillers) ::close(fd);

  cmb::testing::TestClient served(server->address().port());
  const auto response = served.get("/");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);

  server->stop();
  thread.join();
  ::setrlimit(RLIMIT_NOFILE, &limit);
}

}  // namespace
}  // namespace cmb::servers
