// The target of a load run: an http:// URL split into what a connection and
// a request line need.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cmb::loadgen {

struct Url {
  std::string host;  // without brackets for IPv6
  uint16_t port = 80;
  std::string target;       // path and query, at least "/"
  std::string host_header;  // "host" or "host:port"

  std::string to_string() const;
};

// Parses "http://host[:port][/path][?query]". Throws std::invalid_argument
// with the reason (other schemes, missing host, bad port).
Url parse_url(std::string_view text);

// One URL of a load: several are mixed on the same connections.
struct Target {
  Url url;
  unsigned weight = 1;  // share of requests: weight / sum of weights
};

// "URL" or "URL@WEIGHT" (a whole number >= 1): one of several URLs mixed on
// the same connections in proportion to their weights.
Target parse_target(std::string_view text);

}  // namespace cmb::loadgen
