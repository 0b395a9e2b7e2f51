// A model as a sweep names it, parsed once at the edge:
//
//   NAME[+SETUP][:THREADS][@BUILD]
//
// "thread-pool:32" gives a pool its own --threads, so one sweep can give it
// as many workers as connections while other models keep theirs;
// "io-uring+sqpoll" is the io-uring model with its ring set up so
// (net::UringSetup), a row of its own; "epoll@B" is the model as the build
// labelled B serves it (a same-runner A/B). Rows keep the text; everything
// that needs its parts takes this value. Plain data.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cmb::harness {

struct ModelSpec {
  std::string name;            // the registry's name, or an external server's
  std::string setup;           // +SETUP; empty: the model's default
  std::optional<int> threads;  // :THREADS; none: the sweep's --threads
  std::string build;           // @LABEL; empty: this binary

  // The text again, normalised: parse_model_spec(spec.text()) == spec.
  std::string text() const;
  // Without @BUILD: what the builds of one model share ("epoll:4").
  std::string without_build() const;
  bool operator==(const ModelSpec&) const = default;
};

// Throws std::invalid_argument naming the text and what is wrong (an empty
// name or part, THREADS not a whole number).
ModelSpec parse_model_spec(std::string_view text);

}  // namespace cmb::harness
