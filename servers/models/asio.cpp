// asio — Boost.Asio with C++20 coroutines: the library a C++ team would pick
// instead of writing any of the other models. One io_context per thread
// (--threads, default 1), each with its own SO_REUSEPORT acceptor; one
// coroutine per connection reads, runs the shared session and writes;
// wait_us is a steady_timer, so other connections are served meanwhile.
// Syscalls: epoll underneath (Asio's reactor), plus its own bookkeeping.
// Good at: readable straight-line code with event-loop efficiency.
// Breaks: like every event loop, blocking or CPU-heavy handlers stall the
// io_context (and all its connections); the abstraction costs a little per
// operation compared with a hand-written loop.
#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

// clang-format off
// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>
#include <boost/asio.hpp>
// clang-format on

#include "net/socket.hpp"
#include "servers/counters.hpp"
#include "servers/http_session.hpp"
#include "servers/loops.hpp"
#include "servers/server.hpp"

namespace cmb::servers {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

constexpr size_t kReadChunk = 64 * 1024;
// How long accepting pauses when descriptors run out and none can be shed.
constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);

// What a connection's coroutine and its deadline watcher share.
struct Connection {
  Connection(tcp::socket s, const Limits& limits, int interrupt_fd)
      : socket(std::move(s)), session(limits, interrupt_fd), watch(socket.get_executor()) {}
  tcp::socket socket;
  HttpSession session;
  asio::steady_timer watch;
  bool timed_out = false;
  bool done = false;
};

// Limits::header_timeout: wakes a few times per timeout and, once the
// session's deadline has passed, cancels the connection's pending read or
// write so that serve_connection answers 408 or closes.
asio::awaitable<void> watch_deadline(std::shared_ptr<Connection> c,
                                     std::chrono::milliseconds timeout) {
  const auto period = sweep_period(timeout);
  boost::system::error_code ec;
  while (!c->done) {
    c->watch.expires_after(period);
    co_await c->watch.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (c->done) co_return;
    if (c->session.expired(HttpSession::Clock::now())) {
      c->timed_out = true;
      c->socket.cancel(ec);
      co_return;
    }
  }
}

asio::awaitable<void> serve_connection(tcp::socket socket, Limits limits, int interrupt_fd,
                                       [[maybe_unused]] ConnectionGate::Ticket ticket) {
  auto c = std::make_shared<Connection>(std::move(socket), limits, interrupt_fd);
  HttpSession& session = c->session;
  asio::steady_timer timer(c->socket.get_executor());
  boost::system::error_code ec;
  // Errors come back in `ec` instead of as exceptions: EOF is routine here.
  const auto on_error = [&ec] { return asio::redirect_error(asio::use_awaitable, ec); };
  c->socket.set_option(tcp::no_delay(true), ec);
  asio::co_spawn(c->socket.get_executor(), watch_deadline(c, limits.header_timeout),
                 asio::detached);
  struct StopWatching {
    Connection& c;
    ~StopWatching() {
      c.done = true;
      c.watch.cancel();
    }
  } stop_watching{*c};
  for (;;) {
    char* space = session.input().prepare(kReadChunk);
    // What async_read_some does (a read at once, the reactor's wait if it
    // would block), by hand: recvmsg() brings the kernel's receive time.
    net::Received read{};
    ec.clear();
    for (;;) {
      read = net::receive(c->socket.native_handle(), space, session.input().writable(),
                          MSG_DONTWAIT, session.attributed());
      if (read.bytes >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) break;
      co_await c->socket.async_wait(tcp::socket::wait_read, on_error());
      if (ec || c->timed_out) break;
    }
    // (A read that completed as the watcher cancelled it counts as timed out:
    // the watcher has gone.)
    if (ec || read.bytes <= 0 || c->timed_out) {
      if (!c->timed_out) co_return;  // EOF, reset or shutdown
      (void)session.time_out();      // slowloris or idle: a 408 if it sent part of a request
      const std::string_view out = session.pending_output();
      c->socket.non_blocking(true, ec);  // never wait on a client that does not read
      if (!out.empty()) (void)c->socket.send(asio::buffer(out.data(), out.size()), 0, ec);
      c->socket.shutdown(tcp::socket::shutdown_send, ec);
      co_return;
    }
    session.commit_input(static_cast<size_t>(read.bytes), read.kernel_ns);
    do {  // a long pipeline is handled a bounded batch of responses at a time
      for (;;) {
        const auto wait = session.process(HttpSession::WaitPolicy::kDefer);
        if (wait.count() == 0) break;
        timer.expires_after(wait);
        co_await timer.async_wait(on_error());
        if (ec) co_return;
        session.finish_wait();
      }
      if (session.has_output()) {
        const std::string_view out = session.pending_output();
        co_await asio::async_write(c->socket, asio::buffer(out.data(), out.size()), on_error());
        if (ec) co_return;  // gone, or not reading its responses (timed out)
        session.consume_output(out.size());
      }
    } while (session.backlogged());
    if (session.closing()) {
      c->socket.shutdown(tcp::socket::shutdown_send, ec);
      co_return;
    }
  }
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, Limits limits, ConnectionGate& gate,
                                  int interrupt_fd) {
  boost::system::error_code ec;
  net::Acceptor shedder = make_acceptor(acceptor.native_handle(), /*nonblocking=*/true);
  asio::steady_timer backoff(acceptor.get_executor());
  for (;;) {
    tcp::socket socket =
        co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted) co_return;
    if (ec == asio::error::no_descriptors || ec.value() == ENFILE) {
      // Out of descriptors. Asio tries accept before waiting for a
      // connection, and the kernel says EMFILE even with none pending: drop
      // a pending one through the spare descriptor, and if there was none,
      // pause instead of failing in a loop.
      if (const auto outcome = shedder.accept().outcome;
          outcome == net::Acceptor::Outcome::kNone ||
          outcome == net::Acceptor::Outcome::kExhausted) {
        backoff.expires_after(kAcceptBackoff);
        co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
      }
      continue;
    }
    if (ec) continue;  // ECONNABORTED and the like: this connection is lost, the acceptor is fine
    auto ticket = gate.admit(socket.native_handle());
    if (!ticket) continue;
    asio::co_spawn(acceptor.get_executor(),
                   serve_connection(std::move(socket), limits, interrupt_fd, std::move(ticket)),
                   asio::detached);
  }
}

class AsioServer final : public Server {
 public:
  AsioServer(const ServerConfig& config, int threads)
      : Server(config, /*reuse_port=*/threads > 1), threads_(threads) {}

  void run() override {
    std::vector<std::unique_ptr<asio::io_context>> contexts;
    std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
    std::vector<std::unique_ptr<asio::posix::stream_descriptor>> stop_watchers;
    const tcp protocol = address().storage.ss_family == AF_INET6 ? tcp::v6() : tcp::v4();
    std::vector<net::Fd> siblings =
        reuseport_siblings(address(), listen_options(/*reuse_port=*/true), threads_);
    for (int i = 0; i < threads_; ++i) {
      auto& context = *contexts.emplace_back(std::make_unique<asio::io_context>(1));
      // Asio owns what it is given: hand it our descriptors (a duplicate of
      // the server's own listener).
      const int listener =
          i == 0 ? ::dup(listen_fd()) : siblings[static_cast<size_t>(i - 1)].release();
      acceptors.push_back(std::make_unique<tcp::acceptor>(context, protocol, listener));
      asio::co_spawn(
          context,
          accept_loop(*acceptors.back(), config().limits, connection_gate(), stop_signal().fd()),
          asio::detached);
      auto& watcher = *stop_watchers.emplace_back(
          std::make_unique<asio::posix::stream_descriptor>(context, ::dup(stop_signal().fd())));
      watcher.async_wait(asio::posix::stream_descriptor::wait_read,
                         [&context](boost::system::error_code) { context.stop(); });
    }
    run_loops(
        threads_,
        [&](int i) {
          register_acceptor();
          contexts[static_cast<size_t>(i)]->run();
        },
        *this);
    // Destroying the contexts destroys the suspended coroutines and closes their sockets.
    stop_watchers.clear();
    acceptors.clear();
    contexts.clear();
  }

 private:
  int threads_;
};

}  // namespace

std::unique_ptr<Server> make_asio_server(const ServerConfig& config) {
  return std::make_unique<AsioServer>(config, thread_count(config, DefaultThreads::kOneLoop));
}

}  // namespace cmb::servers
