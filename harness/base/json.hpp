// Numbers in the JSON files cmbench writes (manifest, load --json): rounded
// for people, and never NaN or infinity, which JSON cannot hold.
#pragma once

#include <nlohmann/json.hpp>

namespace cmb::harness {

using Json = nlohmann::ordered_json;

// `value` rounded to `decimals`; null when it is not finite (an empty
// histogram's mean, a rate over no time).
Json json_number(double value, int decimals);

}  // namespace cmb::harness
