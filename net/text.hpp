// ASCII helpers for HTTP's case-insensitive tokens and optional whitespace,
// shared by the request and response parsers.
#pragma once

#include <string_view>

namespace cmb::net {

inline bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
  return true;
}

inline bool contains_ignore_case(std::string_view text, std::string_view token) {
  for (size_t i = 0; i + token.size() <= text.size(); ++i)
    if (equals_ignore_case(text.substr(i, token.size()), token)) return true;
  return false;
}

// Drops spaces and tabs (HTTP's OWS) at both ends.
inline std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace cmb::net
