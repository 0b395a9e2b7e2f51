// libFuzzer target: the query string that picks the work (parse_work) and
// the load generator's URL and URL@WEIGHT parsing. parse_work answers 0 or
// 400 and, on 0, never exceeds its documented bounds; the URL parsers either
// throw std::invalid_argument or return a URL whose parts are in range.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "loadgen/engine.hpp"
#include "loadgen/url.hpp"
#include "servers/handler/handler.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  cmb::servers::Work work;
  const int status = cmb::servers::parse_work(text, work);
  if (status != 0 && status != 400) __builtin_trap();
  if (status == 0) {
    const auto max = static_cast<int64_t>(cmb::servers::kMaxWorkMicros);
    if (work.cpu.count() < 0 || work.cpu.count() > max) __builtin_trap();
    if (work.sleep.count() < 0 || work.sleep.count() > max) __builtin_trap();
    if (work.wait.count() < 0 || work.wait.count() > max) __builtin_trap();
    if (work.body_bytes > cmb::servers::kMaxBodyBytes) __builtin_trap();
  }

  try {
    const cmb::loadgen::Url url = cmb::loadgen::parse_url(text);
    if (url.host.empty() || url.target.empty() || url.target[0] != '/') __builtin_trap();
    // What goes into the request line and Host header can never break them
    // (a CR or LF there would let a URL inject headers).
    for (unsigned char c : url.target + url.host_header)
      if (c <= 0x20 || c == 0x7f) __builtin_trap();
  } catch (const std::invalid_argument&) {
  }
  try {
    const cmb::loadgen::Target target = cmb::loadgen::parse_target(text);
    if (target.weight == 0) __builtin_trap();
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
