// The exit codes every subcommand shares, and the one exception that means
// "the user asked for something that cannot be done": main maps it to 2.
#pragma once

#include <stdexcept>

namespace cmb::harness {

// Exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // ran, but the result is bad
inline constexpr int kExitUsage = 2;    // bad flags or input; nothing ran

}  // namespace cmb::harness
