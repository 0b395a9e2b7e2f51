// libFuzzer target: the request parser every model uses. Beyond "does not
// crash": the input delivered in two pieces, split where its first byte
// says, parses to the same sequence of outcomes as delivered whole, and no
// complete request ever claims more bytes than it was given.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "net/http_request.hpp"

namespace {

struct Outcome {
  cmb::net::RequestParser::State state;
  size_t consumed;
  int status;
  std::string target;
  size_t body;
  bool operator==(const Outcome&) const = default;
};

// Parses pipelined requests the way a server does: append what arrives,
// parse, drop what a complete request consumed. `split` bytes arrive first.
std::vector<Outcome> parse_all(std::string_view input, size_t split) {
  cmb::net::RequestParser parser({.max_header_bytes = 1024, .max_body_bytes = 4096});
  std::vector<Outcome> outcomes;
  std::string buffer;
  for (std::string_view piece : {input.substr(0, split), input.substr(split)}) {
    buffer.append(piece);
    for (;;) {
      cmb::net::Request request;
      const auto result = parser.parse(buffer, request);
      if (result.state == cmb::net::RequestParser::State::kIncomplete) break;
      if (result.state == cmb::net::RequestParser::State::kError) {
        if (result.error_status < 400 || result.error_status > 505) __builtin_trap();
        outcomes.push_back({result.state, 0, result.error_status, {}, 0});
        return outcomes;
      }
      if (result.consumed == 0 || result.consumed > buffer.size()) __builtin_trap();
      outcomes.push_back(
          {result.state, result.consumed, 0, std::string(request.target), request.body.size()});
      buffer.erase(0, result.consumed);
    }
  }
  return outcomes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t split = input.empty() ? 0 : data[0] % (input.size() + 1);
  // Outcomes after an error are not comparable (the whole input may hold a
  // later error the split one never reaches), but everything up to the first
  // error must agree.
  const auto whole = parse_all(input, input.size());
  const auto pieces = parse_all(input, split);
  const size_t common = std::min(whole.size(), pieces.size());
  for (size_t i = 0; i < common; ++i)
    if (!(whole[i] == pieces[i])) __builtin_trap();
  return 0;
}
