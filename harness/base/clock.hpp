// The wall clock as the harness writes it into files and names.
#pragma once

#include <string>

namespace cmb::harness {

// Now, UTC, in strftime's `format`.
std::string utc_now(const char* format);

}  // namespace cmb::harness
