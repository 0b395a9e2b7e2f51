// Names for tests parameterised over the registry: "thread-per-connection"
// becomes "thread_per_connection" (GoogleTest names allow no '-').
#pragma once

#include <gtest/gtest.h>

#include <string>

namespace cmb::testing {

inline std::string model_test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  for (char& c : name)
    if (c == '-') c = '_';
  return name;
}

}  // namespace cmb::testing
