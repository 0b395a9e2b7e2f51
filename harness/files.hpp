// Files the harness writes for people and programs to read while it runs.
#pragma once

#include <filesystem>
#include <string>

namespace cmb::harness {

// Writes `text` to `path` through a temporary file and a rename, so a
// reader never sees half a file. Throws std::runtime_error naming the path.
void write_file_atomically(const std::string& path, const std::string& text);

// Where cmbench's own files are (scenarios/, plots/): share/cmbench beside an
// installed binary, else the source tree the binary was built from.
std::filesystem::path data_dir();

}  // namespace cmb::harness
