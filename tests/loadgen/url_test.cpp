#include "loadgen/url.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "loadgen/units.hpp"

namespace cmb::loadgen {
namespace {

TEST(Url, ParsesHostPortTarget) {
  const Url url = parse_url("http://127.0.0.1:8080/path?sleep_us=10");
  EXPECT_EQ(url.host, "127.0.0.1");
  EXPECT_EQ(url.port, 8080);
  EXPECT_EQ(url.target, "/path?sleep_us=10");
  EXPECT_EQ(url.host_header, "127.0.0.1:8080");
}

TEST(Url, Defaults) {
  const Url url = parse_url("http://localhost");
  EXPECT_EQ(url.port, 80);
  EXPECT_EQ(url.target, "/");
  EXPECT_EQ(parse_url("http://h:1?x=1").target, "/?x=1");
}

TEST(Url, Ipv6) {
  const Url url = parse_url("http://[::1]:9000/");
  EXPECT_EQ(url.host, "::1");
  EXPECT_EQ(url.port, 9000);
}

TEST(Url, RejectsWhatItCannotUse) {
  EXPECT_THROW(parse_url("https://a/"), std::invalid_argument);
  // Bytes that would break the Host header (the first found by fuzz/workload_fuzz).
  EXPECT_THROW(parse_url("http://127.0.0\x0e"
                         "1:8080/"),
               std::invalid_argument);
  EXPECT_THROW(parse_url("http://a\r\nX: y/"), std::invalid_argument);
  EXPECT_THROW(parse_url("http://a b/"), std::invalid_argument);
  EXPECT_THROW(parse_url("127.0.0.1:80"), std::invalid_argument);
  EXPECT_THROW(parse_url("http://:80/"), std::invalid_argument);
  EXPECT_THROW(parse_url("http://a:0/"), std::invalid_argument);
  EXPECT_THROW(parse_url("http://a:70000/"), std::invalid_argument);
  EXPECT_THROW(parse_url("http://a:8x/"), std::invalid_argument);
  EXPECT_THROW(parse_url("http://a/with space"), std::invalid_argument);
}

TEST(Units, Durations) {
  using namespace std::chrono_literals;
  EXPECT_EQ(parse_duration("10"), 10s);
  EXPECT_EQ(parse_duration("10s"), 10s);
  EXPECT_EQ(parse_duration("500ms"), 500ms);
  EXPECT_EQ(parse_duration("2m"), 120s);
  EXPECT_EQ(parse_duration("1.5s"), 1500ms);
  EXPECT_THROW(parse_duration("fast"), std::invalid_argument);
  EXPECT_THROW(parse_duration("-1s"), std::invalid_argument);
  EXPECT_THROW(parse_duration("5 parsecs"), std::invalid_argument);
}

TEST(Units, Formatting) {
  EXPECT_EQ(format_nanos(950'000), "950.00us");
  EXPECT_EQ(format_nanos(12'340'000), "12.34ms");
  EXPECT_EQ(format_nanos(1.5e9), "1.50s");
  EXPECT_EQ(format_bytes(2048), "2.00KB");
}

}  // namespace
}  // namespace cmb::loadgen
