// A cmbench with one model more: the shipped ones, then defer-accept.
#include <memory>

#include "harness/cli/entry.hpp"

std::unique_ptr<cmb::servers::Server> make_defer_accept_server(
    const cmb::servers::ServerConfig& config);

int main(int argc, char** argv) {
  return cmb::main(argc, argv,
                   {{.name = "defer-accept",
                     .summary = "a thread per connection, accepted only once its request has "
                                "arrived (TCP_DEFER_ACCEPT): idle connections hold no thread",
                     .colour = "#56b4e9",
                     .marker = "triangle",
                     .factory = make_defer_accept_server}});
}
