// Incremental HTTP/1.1 request parser (request line, headers, Content-Length
// bodies, HTTP/1.0 and 1.1 keep-alive rules, pipelined requests). One parser
// per connection; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace cmb::net {

enum class Method { kGet, kHead, kPost, kPut, kDelete, kOptions, kPatch };

// Views into the caller's input buffer: valid until that buffer changes.
struct Request {
  Method method = Method::kGet;
  std::string_view target;  // as sent, e.g. "/path?cpu_us=10"
  std::string_view path;    // target up to '?'
  std::string_view query;   // after '?', empty when none
  int version_minor = 1;    // HTTP/1.<minor>
  bool keep_alive = true;
  std::string_view body;
};

struct RequestLimits {
  size_t max_header_bytes = 8 * 1024;   // request line + headers; over it: 431
  size_t max_body_bytes = 1024 * 1024;  // over it: 413
};

class RequestParser {
 public:
  enum class State { kIncomplete, kComplete, kError };
  struct Result {
    State state = State::kIncomplete;
    size_t consumed = 0;   // bytes of input the complete request took
    int error_status = 0;  // with kError: 400, 413, 431, 501 or 505
  };

  explicit RequestParser(RequestLimits limits = {}) : limits_(limits) {}

  // Parses the request at the front of `input`. When it returns kIncomplete,
  // call again with the same bytes followed by newly received ones: the
  // search for the end of the header block resumes where it stopped. After
  // kComplete the caller drops `consumed` bytes and may call again at once
  // for a pipelined request. After kError the connection must be closed.
  Result parse(std::string_view input, Request& request);

 private:
  Result fail(int status);
  void reset_head_state();
  int check_request_line(std::string_view input);
  static int parse_request_line(std::string_view line, Request& request);
  int parse_head(std::string_view head, Request& request, size_t& content_length);

  RequestLimits limits_;
  size_t scanned_ = 0;           // bytes of input already searched for the block's end
  size_t request_line_end_ = 0;  // the LF ending the request line; 0 until seen
  bool line_checked_ = false;    // the request line of an unfinished block has been judged
};

}  // namespace cmb::net
