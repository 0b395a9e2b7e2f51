// Files the harness writes for people and programs to read while it runs.
#pragma once

#include <string>

namespace cmb::harness {

// Writes `text` to `path` through a temporary file and a rename, so a
// reader never sees half a file. Throws std::runtime_error naming the path.
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace cmb::harness
