// Models added from outside the tree (servers/registry.hpp's add_models,
// which cmb::main calls with a user's models): they come after the shipped
// ones and serve like them, and a bad list is refused whole. Each test
// runs in a process of its own (gtest_discover_tests), so each starts
// with a list nobody has read.
#include "servers/registry.hpp"

#include <gtest/gtest.h>

#include <set>
#include <stdexcept>
#include <thread>

#include "support/test_client.hpp"

namespace {

using cmb::servers::add_models;
using cmb::servers::ModelEntry;
using cmb::servers::ServerConfig;

std::unique_ptr<cmb::servers::Server> make_mine(const ServerConfig& config) {
  return cmb::servers::make_server("epoll", config);  // any server will do
}

ModelEntry mine(std::string_view name = "mine") {
  return {.name = name, .summary = "a user's model", .colour = "#393b79", .factory = make_mine};
}

TEST(Registry, AnAddedModelComesAfterTheShippedOnesAndServes) {
  add_models({mine()});
  const auto& models = cmb::servers::registered_models();
  ASSERT_GE(models.size(), 17u) << "the 16 shipped models and nginx, then ours";
  EXPECT_EQ(models.front().name, "iterative");
  EXPECT_EQ(models.back().name, "mine");
  EXPECT_EQ(models.back().summary, "a user's model");
  EXPECT_TRUE(models.back().unavailable_reason.empty());
  ASSERT_TRUE(cmb::servers::find_model("mine"));
  const auto names = cmb::servers::available_model_names();
  EXPECT_EQ(names.back(), "mine");

  ServerConfig config;
  config.port = 0;
  auto server = cmb::servers::make_server("mine", config);
  std::thread thread([&] { server->run(); });
  cmb::testing::TestClient client(server->address().port());
  const auto response = client.get("/?bytes=5");
  server->stop();
  thread.join();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body_bytes, 5u);
}

TEST(Registry, ABadListIsRefusedWhole) {
  // A shipped name, a name twice, a name that would not survive a file
  // name or a CSV cell, no factory: each refused, and nothing of the list
  // added.
  EXPECT_THROW(add_models({mine("fine"), mine("epoll")}), std::invalid_argument);
  EXPECT_THROW(add_models({mine("twice"), mine("twice")}), std::invalid_argument);
  for (const char* bad : {"", "Mine", "my model", "mine:2", "mine@a", "mine,x"})
    EXPECT_THROW(add_models({mine(bad)}), std::invalid_argument) << "'" << bad << "'";
  ModelEntry no_factory = mine("lost");
  no_factory.factory = nullptr;
  EXPECT_THROW(add_models({no_factory}), std::invalid_argument);
  ModelEntry wavy = mine("wavy");
  wavy.marker = "wavy";
  EXPECT_THROW(add_models({wavy}), std::invalid_argument);
  EXPECT_FALSE(cmb::servers::find_model("fine")) << "a refused list adds none of its models";
}

// Every shipped model is drawn in a colour of the Okabe-Ito palette or
// grey, and no two share both colour and line: each stays recognisable,
// for colour-blind viewers too.
TEST(Registry, EachShippedModelHasALookOfItsOwnFromThePalette) {
  const std::set<std::string_view> palette = {"#000000", "#e69f00", "#56b4e9", "#009e73", "#f0e442",
                                              "#0072b2", "#d55e00", "#cc79a7", "#999999"};
  std::set<std::pair<std::string_view, std::string_view>> looks;
  for (const auto& model : cmb::servers::registered_models()) {
    EXPECT_TRUE(palette.contains(model.colour)) << model.name << ": " << model.colour;
    EXPECT_TRUE(looks.insert({model.colour, model.marker}).second)
        << model.name << " looks like another model: " << model.colour << " " << model.marker;
  }
}

TEST(Registry, ModelsAreAddedBeforeTheListIsRead) {
  EXPECT_TRUE(cmb::servers::find_model("epoll"));  // the list is read
  EXPECT_THROW(add_models({mine()}), std::logic_error);
  EXPECT_NO_THROW(add_models({})) << "nothing to add is never an error";
  EXPECT_FALSE(cmb::servers::find_model("mine"));
}

}  // namespace
