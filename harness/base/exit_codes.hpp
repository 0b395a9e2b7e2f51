// The exit codes every subcommand shares, and the one exception that means
// "the user asked for something that cannot be done": main maps it to 2.
#pragma once

#include <stdexcept>

namespace cmb::harness {

// Exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // ran, but the result is bad
inline constexpr int kExitUsage = 2;    // bad flags or input; nothing ran

// The user asked for something that cannot be done as asked: a flag's value,
// an unknown model, a build that cannot serve there. Thrown where the input
// is turned into values, from any layer; main prints "cmbench CMD: WHAT" and
// exits kExitUsage. (A std::invalid_argument, so older catch sites agree.)
class UsageError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

}  // namespace cmb::harness
