#include "servers/handler/handler.hpp"

#include <gtest/gtest.h>
#include <time.h>

#include "net/http_response.hpp"

namespace cmb::servers {
namespace {

using namespace std::chrono_literals;

TEST(Handler, ParsesEveryWorkKey) {
  Work work;
  ASSERT_EQ(parse_work("cpu_us=10&sleep_us=20&wait_us=30&bytes=40&other=x", work), 0);
  EXPECT_EQ(work.cpu, 10us);
  EXPECT_EQ(work.sleep, 20us);
  EXPECT_EQ(work.wait, 30us);
  EXPECT_EQ(work.body_bytes, 40u);
  EXPECT_TRUE(work.custom_body);
}

TEST(Handler, NoQueryIsHelloWorld) {
  Work work;
  ASSERT_EQ(parse_work("", work), 0);
  std::string out;
  append_work_response(out, work, {});
  EXPECT_TRUE(out.ends_with("\r\n\r\nHello, World!"));
  EXPECT_NE(out.find("Content-Length: 13\r\n"), std::string::npos);
}

TEST(Handler, UnparsableValuesAre400) {
  for (const char* query : {"cpu_us=abc", "sleep_us=", "wait_us=-5", "bytes=1e3",
                            "cpu_us=99999999999", "bytes=999999999999", "sleep_us"}) {
    Work work;
    EXPECT_EQ(parse_work(query, work), 400) << query;
  }
}

TEST(Handler, BodyHasExactlyTheRequestedBytes) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{65536}, size_t{200'000}}) {
    Work work;
    ASSERT_EQ(parse_work("bytes=" + std::to_string(n), work), 0);
    std::string out;
    append_work_response(out, work, {});
    EXPECT_EQ(out.size() - (out.find("\r\n\r\n") + 4), n);
  }
}

TEST(Handler, HeadGetsNoBody) {
  Work work;
  std::string out;
  append_work_response(out, work, {.keep_alive = true, .version_minor = 1, .head_only = true});
  EXPECT_TRUE(out.ends_with("\r\n\r\n"));
  EXPECT_NE(out.find("Content-Length: 13\r\n"), std::string::npos);
}

TEST(Handler, BurnsThreadCpuNotWallClock) {
  timespec before, after;
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &before);
  burn_cpu(20ms);
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &after);
  const double burned_ms = static_cast<double>(after.tv_sec - before.tv_sec) * 1e3 +
                           static_cast<double>(after.tv_nsec - before.tv_nsec) / 1e6;
  EXPECT_GE(burned_ms, 20.0);
  EXPECT_LT(burned_ms, 40.0);
}

}  // namespace
}  // namespace cmb::servers
