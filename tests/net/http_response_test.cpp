#include "net/http_response.hpp"

#include <gtest/gtest.h>

#include <string>

#include "net/http_request.hpp"

namespace cmb::net {
namespace {

using State = ResponseParser::State;

// Feeds `input` in two pieces split at every point; expects one complete
// response taking `expected_used` bytes.
void expect_parses_at_every_split(const std::string& input, int status, uint64_t body,
                                  size_t expected_used) {
  for (size_t split = 0; split <= input.size(); ++split) {
    ResponseParser parser;
    parser.reset();
    size_t used = parser.feed(std::string_view(input).substr(0, split));
    if (parser.state() == State::kIncomplete)
      used += parser.feed(std::string_view(input).substr(used));
    ASSERT_EQ(parser.state(), State::kComplete) << "split at " << split;
    EXPECT_EQ(used, expected_used) << "split at " << split;
    EXPECT_EQ(parser.status(), status);
    EXPECT_EQ(parser.body_bytes(), body);
  }
}

TEST(ResponseParser, ContentLengthAtEverySplit) {
  const std::string one = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!";
  expect_parses_at_every_split(one + "HTTP/1.1 ...", 200, 13, one.size());
}

TEST(ResponseParser, ChunkedAtEverySplit) {
  const std::string chunked =
      "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nTrailer: x\r\n\r\n";
  expect_parses_at_every_split(chunked, 404, 31, chunked.size());
}

TEST(ResponseParser, BodyUntilCloseCompletesAtEof) {
  ResponseParser parser;
  parser.reset();
  parser.feed("HTTP/1.0 200 OK\r\n\r\nsome bytes");
  EXPECT_EQ(parser.state(), State::kIncomplete);
  parser.on_eof();
  EXPECT_EQ(parser.state(), State::kComplete);
  EXPECT_EQ(parser.body_bytes(), 10u);
  EXPECT_FALSE(parser.keep_alive());
}

TEST(ResponseParser, EofMidBodyIsAnError) {
  ResponseParser parser;
  parser.reset();
  parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  parser.on_eof();
  EXPECT_EQ(parser.state(), State::kError);
}

TEST(ResponseParser, HeadResponseHasNoBody) {
  ResponseParser parser;
  parser.reset(/*head_only=*/true);
  const std::string_view input = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n";
  EXPECT_EQ(parser.feed(input), input.size());
  EXPECT_EQ(parser.state(), State::kComplete);
}

TEST(ResponseParser, KeepAliveFollowsVersionAndConnection) {
  ResponseParser parser;
  parser.reset();
  parser.feed("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  EXPECT_FALSE(parser.keep_alive());
  parser.reset();
  parser.feed("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n");
  EXPECT_TRUE(parser.keep_alive());
}

TEST(ResponseParser, RejectsGarbage) {
  ResponseParser parser;
  parser.reset();
  parser.feed("SSH-2.0-OpenSSH_9.2\r\n\r\n");
  EXPECT_EQ(parser.state(), State::kError);
}

TEST(ResponseWriter, ErrorResponseRoundTrips) {
  std::string out;
  append_error_response(out, 431);
  ResponseParser parser;
  parser.reset();
  EXPECT_EQ(parser.feed(out), out.size());
  EXPECT_EQ(parser.state(), State::kComplete);
  EXPECT_EQ(parser.status(), 431);
  EXPECT_FALSE(parser.keep_alive());
}

TEST(ResponseWriter, Http10KeepAliveIsExplicit) {
  std::string out;
  append_response_head(
      out, {.status = 200, .content_length = 0, .keep_alive = true, .version_minor = 0});
  EXPECT_NE(out.find("HTTP/1.0 200 OK\r\n"), std::string::npos);
  EXPECT_NE(out.find("Connection: keep-alive\r\n"), std::string::npos);
  EXPECT_NE(out.find("Date: "), std::string::npos);
}

}  // namespace
}  // namespace cmb::net
