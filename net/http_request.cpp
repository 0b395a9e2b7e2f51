#include "net/http_request.hpp"

#include <charconv>
#include <cstring>

#include "net/text.hpp"

namespace cmb::net {
namespace {

// RFC 9110 token characters.
bool is_tchar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != 0;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (!is_tchar(c)) return false;
  return true;
}

// Field values: visible characters, obs-text, space and tab; no controls.
bool is_field_value(std::string_view s) {
  for (unsigned char c : s)
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  return true;
}

bool method_from_name(std::string_view name, Method& method) {
  struct Entry {
    std::string_view name;
    Method method;
  };
  static constexpr Entry kMethods[] = {
      {"GET", Method::kGet},     {"HEAD", Method::kHead},     {"POST", Method::kPost},
      {"PUT", Method::kPut},     {"DELETE", Method::kDelete}, {"OPTIONS", Method::kOptions},
      {"PATCH", Method::kPatch},
  };
  for (const auto& entry : kMethods) {
    if (entry.name == name) {
      method = entry.method;
      return true;
    }
  }
  return false;
}

// Applies one Connection header's comma-separated options.
void apply_connection_options(std::string_view value, bool& saw_close, bool& saw_keep_alive) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    const std::string_view option = trim_ows(value.substr(0, comma));
    if (equals_ignore_case(option, "close")) saw_close = true;
    if (equals_ignore_case(option, "keep-alive")) saw_keep_alive = true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

}  // namespace

RequestParser::Result RequestParser::fail(int status) {
  reset_head_state();
  return {State::kError, 0, status};
}

void RequestParser::reset_head_state() {
  scanned_ = 0;
  request_line_end_ = 0;
  line_checked_ = false;
}

// Judges the request line of a header block that has not ended yet (0:
// fine), so that a client that sends nothing more (HTTP/0.9, an HTTP/2
// preface, TLS or other non-HTTP bytes) is answered at once instead of at
// the header timeout. A block that ends in the same call is judged once,
// by parse_head.
int RequestParser::check_request_line(std::string_view input) {
  size_t start = 0;
  while (start + 1 < input.size() && input[start] == '\r' && input[start + 1] == '\n') start += 2;
  if (request_line_end_ == 0) {
    // Not even a line yet: its first byte must begin a method.
    if (start < input.size() && input[start] != '\r' &&
        !is_tchar(static_cast<unsigned char>(input[start])))
      return 400;
    return 0;
  }
  line_checked_ = true;
  Request scratch;
  return parse_request_line(input.substr(start, request_line_end_ - 1 - start), scratch);
}

RequestParser::Result RequestParser::parse(std::string_view input, Request& request) {
  // Find the end of the header block, resuming the previous search. A bare LF
  // (no CR before it) is rejected: HTTP/0.9 and hand-typed requests end here.
  size_t head_end = std::string_view::npos;
  size_t pos = scanned_;
  // However the bytes arrive, a bad request line is the error reported: it
  // is judged before any later fault (a bare LF, an oversized block).
  const auto fail_after_line = [&](int status) {
    if (request_line_end_ != 0 && !line_checked_)
      if (const int line_status = check_request_line(input)) return fail(line_status);
    return fail(status);
  };
  while (pos < input.size()) {
    const void* lf = std::memchr(input.data() + pos, '\n', input.size() - pos);
    if (lf == nullptr) {
      pos = input.size();
      break;
    }
    const size_t at = static_cast<size_t>(static_cast<const char*>(lf) - input.data());
    if (at == 0 || input[at - 1] != '\r') return fail_after_line(400);
    // RFC 9112 2.2: empty lines before the request line are ignored; the
    // first empty line after it ends the block.
    const bool empty_line = at == 1 || input[at - 2] == '\n';
    if (!empty_line && request_line_end_ == 0) request_line_end_ = at;
    if (empty_line && request_line_end_ != 0) {
      head_end = at + 1;
      break;
    }
    pos = at + 1;
  }
  if (head_end == std::string_view::npos) {
    if (!line_checked_)
      if (const int status = check_request_line(input)) return fail(status);
    // Keep the last three bytes unsearched: they may start the terminator.
    scanned_ = pos >= 3 ? pos - 3 : 0;
    if (input.size() > limits_.max_header_bytes) return fail(431);
    return {State::kIncomplete, 0, 0};
  }
  if (head_end > limits_.max_header_bytes) return fail_after_line(431);

  size_t content_length = 0;
  if (const int status = parse_head(input.substr(0, head_end), request, content_length))
    return fail(status);
  if (content_length > limits_.max_body_bytes) return fail(413);
  // The header block is known good; wait for the body without rescanning.
  scanned_ = head_end >= 3 ? head_end - 3 : 0;
  if (input.size() - head_end < content_length) return {State::kIncomplete, 0, 0};
  request.body = input.substr(head_end, content_length);
  reset_head_state();
  return {State::kComplete, head_end + content_length, 0};
}

// Request line: METHOD SP TARGET SP HTTP/1.x
int RequestParser::parse_request_line(std::string_view line, Request& request) {
  const size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return 400;
  const size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return 400;
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method)) return 400;
  if (target.empty()) return 400;
  for (unsigned char c : target)
    if (c <= 0x20 || c >= 0x7f) return 400;
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9')
    return 400;
  if (version[5] != '1') return 505;
  if (!method_from_name(method, request.method)) return 501;
  if (target.front() != '/' && target != "*" && target.substr(0, 7) != "http://") return 400;

  request.target = target;
  const size_t question = target.find('?');
  request.path = target.substr(0, question);
  request.query =
      question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
  request.version_minor = version[7] - '0';
  request.body = {};
  return 0;
}

int RequestParser::parse_head(std::string_view head, Request& request, size_t& content_length) {
  // Skip empty lines allowed before the request line.
  while (head.substr(0, 2) == "\r\n") head.remove_prefix(2);
  size_t eol = head.find("\r\n");
  if (const int status = parse_request_line(head.substr(0, eol), request)) return status;
  head.remove_prefix(eol + 2);

  bool saw_close = false;
  bool saw_keep_alive = false;
  bool saw_host = false;
  bool saw_content_length = false;
  bool saw_transfer_encoding = false;
  content_length = 0;
  // Header lines until the empty line that ends the block.
  while (!head.empty() && head.substr(0, 2) != "\r\n") {
    eol = head.find("\r\n");
    const std::string_view field = head.substr(0, eol);
    head.remove_prefix(eol + 2);
    const size_t colon = field.find(':');
    if (colon == std::string_view::npos) return 400;
    const std::string_view name = field.substr(0, colon);
    const std::string_view value = trim_ows(field.substr(colon + 1));
    // A name must be a token: this also rejects obsolete line folding and
    // whitespace before the colon (a request-smuggling shape).
    if (!is_token(name) || !is_field_value(value)) return 400;
    if (equals_ignore_case(name, "content-length")) {
      if (saw_content_length || value.empty()) return 400;
      saw_content_length = true;
      const auto [end, ec] =
          std::from_chars(value.data(), value.data() + value.size(), content_length);
      if (ec == std::errc::result_out_of_range) return 413;
      if (ec != std::errc() || end != value.data() + value.size()) return 400;
    } else if (equals_ignore_case(name, "transfer-encoding")) {
      saw_transfer_encoding = true;
    } else if (equals_ignore_case(name, "connection")) {
      apply_connection_options(value, saw_close, saw_keep_alive);
    } else if (equals_ignore_case(name, "host")) {
      if (saw_host) return 400;
      saw_host = true;
    }
  }
  // Content-Length together with Transfer-Encoding is how requests are
  // smuggled past proxies: refuse it. Chunked request bodies are not served.
  if (saw_transfer_encoding) return saw_content_length ? 400 : 501;
  if (request.version_minor >= 1 && !saw_host) return 400;
  request.keep_alive = request.version_minor >= 1 ? !saw_close : saw_keep_alive && !saw_close;
  return 0;
}

}  // namespace cmb::net
