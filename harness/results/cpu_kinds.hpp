// Where a server's CPU goes, by kind. `run --profile` samples the server's
// stacks; each sample is put in the kind of the first of its frames, from
// the leaf up, whose symbol one of a kind's patterns matches (the kinds in
// this table's order at each frame), and "other" when none does. The
// kinds' shares of the samples scale the point's server_cpu_us_per_request
// into the columns cpu_KIND_us_per_request. One table: the columns, the
// metrics table and docs/cost.md read it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace cmb::harness {

struct CpuKind {
  std::string_view name;  // "syscall": the column cpu_syscall_us_per_request
  std::string_view what;  // one line, for the docs and `cmbench metrics`
  // Substrings of a frame's symbol; one starting with '^' matches only at
  // the symbol's start (after leading underscores). None: "other".
  std::vector<std::string_view> patterns;
};

// Every kind, "other" last.
const std::vector<CpuKind>& cpu_kinds();

// The kind (an index into cpu_kinds()) of a sample whose frames are given
// from the leaf up.
size_t classify_stack(const std::vector<std::string_view>& frames_leaf_first);

// "cpu_KIND_us_per_request".
std::string cpu_kind_column(std::string_view kind);

}  // namespace cmb::harness
