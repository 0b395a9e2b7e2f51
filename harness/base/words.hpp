// Suggestions for a mistyped name ("did you mean sleep_us?"). Pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cmb::harness {

// The candidate nearest to `word` by edit distance (insertions, deletions,
// substitutions and swaps of neighbours), when it is near enough to be a
// typo: at most 2 edits, and fewer than the word's length. "" otherwise.
std::string closest_word(std::string_view word, const std::vector<std::string>& candidates);

// " (did you mean NAME?)" for closest_word's answer, or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace cmb::harness
