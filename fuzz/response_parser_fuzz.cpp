// libFuzzer target: the load generator's streaming response parser. The
// input fed whole and fed byte by byte must give the same state, status and
// body size, and feed() never claims more bytes than it was given.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "net/http_response.hpp"

namespace {

struct Parsed {
  cmb::net::ResponseParser::State state;
  int status;
  uint64_t body;
  size_t used;
};

Parsed feed(std::string_view input, size_t step, bool head_only, bool eof) {
  cmb::net::ResponseParser parser;
  parser.reset(head_only);
  size_t used = 0;
  while (used < input.size() && parser.state() == cmb::net::ResponseParser::State::kIncomplete) {
    const std::string_view piece = input.substr(used, step);
    const size_t n = parser.feed(piece);
    if (n > piece.size()) __builtin_trap();
    used += n;
    if (n < piece.size()) break;  // complete or failed before the end of the piece
  }
  if (eof && parser.state() == cmb::net::ResponseParser::State::kIncomplete) parser.on_eof();
  return {parser.state(), parser.status(), parser.body_bytes(), used};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool head_only = (data[0] & 1) != 0;
  const bool eof = (data[0] & 2) != 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const Parsed whole = feed(input, input.size() + 1, head_only, eof);
  const Parsed bytes = feed(input, 1, head_only, eof);
  if (whole.state != bytes.state) __builtin_trap();
  if (whole.state == cmb::net::ResponseParser::State::kComplete &&
      (whole.status != bytes.status || whole.body != bytes.body || whole.used != bytes.used))
    __builtin_trap();
  return 0;
}
