// HTTP/1.1 responses: the writer every server model uses, and the streaming
// parser the load generator uses. Neither is thread-safe; use one per
// connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cmb::net {

std::string_view reason_phrase(int status);

struct ResponseHead {
  int status = 200;
  std::string_view content_type = "text/plain";
  size_t content_length = 0;
  bool keep_alive = true;
  int version_minor = 1;  // answer an HTTP/1.0 request as HTTP/1.0
};

// Appends the status line and headers (Date, Server, Content-Type,
// Content-Length, Connection) ending with the empty line. The caller appends
// exactly `content_length` body bytes, except for HEAD.
void append_response_head(std::string& out, const ResponseHead& head);

// A complete error response ("400 Bad Request" with a one-line body) that
// closes the connection.
void append_error_response(std::string& out, int status, int version_minor = 1);

// Streaming parser of one response at a time: status line, headers, and a
// body framed by Content-Length, chunked coding, or the end of the
// connection. Bodies are counted and dropped, never stored.
class ResponseParser {
 public:
  enum class State { kIncomplete, kComplete, kError };

  // Prepares for the next response. `head_only`: the request was HEAD, so no
  // body follows whatever the headers say.
  void reset(bool head_only = false);

  // Consumes bytes of `data` up to the end of the current response and
  // returns how many; the rest belongs to the next (pipelined) response.
  size_t feed(std::string_view data);

  // The peer closed the connection. Completes a body that runs to the end
  // of the connection; anything else still incomplete becomes an error.
  void on_eof();

  State state() const { return state_; }
  int status() const { return status_; }
  bool keep_alive() const { return keep_alive_; }
  uint64_t body_bytes() const { return body_bytes_; }
  // Why parsing failed, for error reports.
  std::string_view error() const { return error_; }

  static constexpr size_t kMaxHeadBytes = 64 * 1024;

 private:
  enum class Phase { kHead, kBody, kUntilClose, kChunkSize, kChunkData, kChunkEnd, kTrailer };

  size_t feed_head(std::string_view data);
  bool parse_head(std::string_view head);
  size_t feed_chunked(std::string_view data);
  void complete() { state_ = State::kComplete; }
  void fail(std::string_view why) {
    state_ = State::kError;
    error_ = why;
  }

  State state_ = State::kIncomplete;
  Phase phase_ = Phase::kHead;
  bool head_only_ = false;
  std::string head_;  // partial header block or chunk-size line across reads
  int status_ = 0;
  bool keep_alive_ = true;
  uint64_t remaining_ = 0;  // body or chunk bytes still expected
  uint64_t body_bytes_ = 0;
  std::string_view error_;
};

}  // namespace cmb::net
