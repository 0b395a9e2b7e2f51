// The Acceptor at descriptor exhaustion: it sheds a pending connection
// through its spare descriptor, and when it has no spare (another thread
// took the slot) it says so instead of "nothing pending", so its caller
// retries once a descriptor is freed rather than waiting for an edge that
// a full accept queue never gives.
#include "net/socket.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "net/fd.hpp"

namespace cmb::net {
namespace {

class AcceptorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    listener_ = listen_tcp(resolve("127.0.0.1", 0));
    set_nonblocking(listener_.get());
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved_), 0);
  }
  void TearDown() override {
    fillers_.clear();
    ::setrlimit(RLIMIT_NOFILE, &saved_);
  }

  Fd connect_client() {
    const Address address = local_address(listener_.get());
    Fd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    EXPECT_EQ(::connect(client.get(), address.get(), address.length), 0) << errno;
    return client;
  }

  // Takes every descriptor left under a limit of a few more than in use.
  void exhaust_descriptors() {
    rlimit low = saved_;
    low.rlim_cur = static_cast<rlim_t>(highest_open() + 8);
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
    for (;;) {
      Fd filler(::dup(listener_.get()));
      if (!filler) break;
      fillers_.push_back(std::move(filler));
    }
    ASSERT_EQ(errno, EMFILE);
  }

  static int highest_open() {
    const int probe = ::dup(0);
    ::close(probe);
    return probe;
  }

  Fd listener_;
  std::vector<Fd> fillers_;
  rlimit saved_{};
};

TEST_F(AcceptorTest, ShedsAPendingConnectionThroughItsSpare) {
  Acceptor acceptor(listener_.get(), /*nonblocking=*/true);
  Fd client = connect_client();
  exhaust_descriptors();
  EXPECT_EQ(acceptor.accept().outcome, Acceptor::Outcome::kShed);
  // Nothing left: EMFILE again, but the spare's accept says there is none.
  EXPECT_EQ(acceptor.accept().outcome, Acceptor::Outcome::kNone);
  char byte;
  EXPECT_EQ(::recv(client.get(), &byte, 1, 0), 0) << "the shed connection is closed";
}

TEST_F(AcceptorTest, WithoutASpareSaysExhaustedUntilADescriptorIsFreed) {
  Fd client = connect_client();
  exhaust_descriptors();
  Acceptor late(listener_.get(), /*nonblocking=*/true);  // its spare could not be opened
  EXPECT_EQ(late.accept().outcome, Acceptor::Outcome::kExhausted);
  EXPECT_EQ(late.accept().outcome, Acceptor::Outcome::kExhausted) << "still pending";
  fillers_.pop_back();  // descriptors are freed: the pending connection is accepted
  fillers_.pop_back();
  auto accepted = late.accept();
  EXPECT_EQ(accepted.outcome, Acceptor::Outcome::kAccepted);
  EXPECT_TRUE(accepted.fd);
}

}  // namespace
}  // namespace cmb::net
