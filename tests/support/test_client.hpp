// The tests' HTTP client: net/blocking_client.hpp, the one `cmbench
// verify` uses too, under the names the tests have always used.
#pragma once

#include "net/blocking_client.hpp"

namespace cmb::testing {

using Response = net::ClientResponse;
using TestClient = net::BlockingClient;

}  // namespace cmb::testing
