#include "loadgen/url.hpp"

#include <fmt/format.h>

#include <charconv>
#include <stdexcept>

namespace cmb::loadgen {

std::string Url::to_string() const { return fmt::format("http://{}{}", host_header, target); }

Url parse_url(std::string_view text) {
  const std::string original(text);
  constexpr std::string_view kScheme = "http://";
  if (text.substr(0, kScheme.size()) != kScheme) {
    throw std::invalid_argument(
        fmt::format("invalid URL '{}': only http://host[:port]/path is supported", original));
  }
  text.remove_prefix(kScheme.size());
  const size_t slash = text.find_first_of("/?");
  std::string_view authority = text.substr(0, slash);
  Url url;
  const std::string_view target =
      slash == std::string_view::npos ? std::string_view{} : text.substr(slash);
  if (target.empty() || target.front() == '?') url.target.push_back('/');
  url.target.append(target);
  for (unsigned char c : url.target) {
    if (c <= 0x20 || c >= 0x7f)
      throw std::invalid_argument(fmt::format(
          "invalid URL '{}': spaces and control characters must be %-encoded", original));
  }
  url.host_header = std::string(authority);

  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos)
      throw std::invalid_argument(fmt::format("invalid URL '{}': unclosed '['", original));
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        throw std::invalid_argument(fmt::format("invalid URL '{}': junk after ']'", original));
      port_text = rest.substr(1);
    }
  } else {
    const size_t colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (url.host.empty())
    throw std::invalid_argument(fmt::format("invalid URL '{}': no host", original));
  // RFC 3986 host characters (and ':' inside brackets): nothing that could
  // end the Host header or the request (the fuzzer found a control byte).
  for (unsigned char c : url.host) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        std::string_view("-._~%!$&'()*+,;=").find(static_cast<char>(c)) != std::string_view::npos ||
        (c == ':' && authority.front() == '[');
    if (!ok)
      throw std::invalid_argument(
          fmt::format("invalid URL '{}': a host cannot contain byte 0x{:02x}", original, c));
  }
  if (!port_text.empty()) {
    unsigned port = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535)
      throw std::invalid_argument(
          fmt::format("invalid URL '{}': bad port '{}'", original, port_text));
    url.port = static_cast<uint16_t>(port);
  }
  return url;
}

Target parse_target(std::string_view text) {
  const size_t at = text.rfind('@');
  if (at == std::string_view::npos) return {parse_url(text), 1};
  const std::string_view weight_text = text.substr(at + 1);
  unsigned weight = 0;
  const auto [end, ec] =
      std::from_chars(weight_text.data(), weight_text.data() + weight_text.size(), weight);
  if (ec != std::errc() || end != weight_text.data() + weight_text.size() || weight == 0)
    throw std::invalid_argument(fmt::format("invalid weight in '{}': use URL@N with N >= 1", text));
  return {parse_url(text.substr(0, at)), weight};
}

}  // namespace cmb::loadgen
