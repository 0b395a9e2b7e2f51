// io-uring — completion-based I/O with liburing: one ring per thread
// (--threads, default 1), each with its own SO_REUSEPORT listener. A
// multishot accept yields every new connection; a multishot recvmsg per
// connection fills buffers the kernel picks from a provided-buffer ring
// (a recvmsg with --attribution, for the receive time's control message); a
// send per batch of responses; IORING_OP_TIMEOUT for wait_us; a poll on the
// stop eventfd. The ring is set up single-issuer with deferred task work.
// Good at: many connections with few syscalls — submissions and
// completions are batched through shared memory, not one syscall per read.
// Breaks: blocking or CPU-heavy handlers stall the ring like any event
// loop; results depend on kernel version and features (multishot recv needs
// 6.0), so it is listed only where the probe at start succeeds.
#include <liburing.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <vector>

#include "net/socket.hpp"
#include "net/uring.hpp"
#include "servers/counters.hpp"
#include "servers/http_session.hpp"
#include "servers/loops.hpp"
#include "servers/server.hpp"

namespace cmb::servers {
namespace {

constexpr unsigned kRingEntries = 4096;
constexpr unsigned kBufferCount = 1024;  // a power of two
constexpr unsigned kBufferSize = 16 * 1024;
// Reading pauses (the multishot recv is cancelled) while a connection holds
// this much unhandled input, or HttpSession::kMaxPendingOutput of unsent
// output; it resumes once they drain.
constexpr size_t kMinPauseInput = 4 * 1024 * 1024;

// user_data: a Connection pointer (8-aligned) with the operation in the low bits.
enum Op : uint64_t {
  kAccept = 1,
  kStop = 2,
  kRecv = 3,
  kSend = 4,
  kTimer = 5,
  kCancel = 6,
  kSweep = 7
};

struct alignas(8) Connection {
  Connection(int socket, ConnectionGate::Ticket place, const Limits& limits, int interrupt_fd)
      : fd(socket), ticket(std::move(place)), session(limits, interrupt_fd) {}
  net::Fd fd;
  ConnectionGate::Ticket ticket;
  HttpSession session;
  int in_flight = 0;  // operations the kernel still owns
  bool recv_armed = false;
  bool recv_cancelled = false;
  bool sending = false;
  bool timer_armed = false;
  bool wait_elapsed = false;  // the timer fired; finish_wait() once no send is in flight
  bool unprocessed = false;
  bool peer_closed = false;
  bool closed = false;
  __kernel_timespec wait{};  // read by the kernel when the timeout is submitted
};

uint64_t tag(Connection* c, Op op) { return reinterpret_cast<uint64_t>(c) | op; }

class UringLoop {
 public:
  UringLoop(int listen_fd, const StopSignal& stop, const Limits& limits, ConnectionGate& gate,
            net::UringSetup setup)
      : listen_fd_(listen_fd),
        stop_(stop),
        limits_(limits),
        gate_(gate),
        pause_input_(std::max(kMinPauseInput, limits.max_header_bytes + limits.max_body_bytes)),
        shedder_(make_acceptor(listen_fd, /*nonblocking=*/true)),
        ring_(kRingEntries, kBufferCount, kBufferSize, setup) {
    recv_shape_.msg_controllen = net::kReceiveStampSpace;
  }

  void run() {
    register_acceptor();
    arm_accept();
    io_uring_prep_poll_add(sqe(), stop_.fd(), POLLIN);
    io_uring_sqe_set_data64(last_sqe_, kStop);
    arm_sweep();
    while (!stopping_) {
      io_uring_submit_and_wait(ring_.get(), 1);
      unsigned head, seen = 0;
      io_uring_cqe* cqe;
      io_uring_for_each_cqe(ring_.get(), head, cqe) {
        handle(*cqe);
        ++seen;
      }
      io_uring_cq_advance(ring_.get(), seen);
    }
  }

 private:
  io_uring_sqe* sqe() { return last_sqe_ = ring_.sqe(); }

  void arm_accept() {
    io_uring_prep_multishot_accept(sqe(), listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(last_sqe_, kAccept);
  }

  // The header timeout's check, a few times per timeout as in the readiness loop.
  void arm_sweep() {
    const auto period = sweep_period(limits_.header_timeout);
    sweep_every_.tv_sec = period.count() / 1000;
    sweep_every_.tv_nsec = (period.count() % 1000) * 1'000'000;
    io_uring_prep_timeout(sqe(), &sweep_every_, 0, 0);
    io_uring_sqe_set_data64(last_sqe_, kSweep);
  }

  // Closes the connections that made no progress within the header timeout
  // (a 408 first when they sent part of a request).
  void sweep() {
    const auto now = HttpSession::Clock::now();
    std::vector<Connection*> expired;
    for (auto& [key, c] : connections_)
      if (!c->closed && c->session.expired(now)) expired.push_back(c.get());
    for (Connection* c : expired) {
      if (c->session.time_out())
        drive(*c);  // sends the 408 (or what is left), then closes
      else
        close(*c);
    }
  }

  void cancel(Connection& c, Op op) {
    io_uring_prep_cancel64(sqe(), tag(&c, op), 0);
    io_uring_sqe_set_data64(last_sqe_, tag(&c, kCancel));
    ++c.in_flight;
  }

  bool input_paused(const Connection& c) const {
    return c.session.output_full() || c.session.input().size() >= pause_input_;
  }

  void arm_recv(Connection& c) {
    if (limits_.attribution)
      io_uring_prep_recvmsg_multishot(sqe(), c.fd.get(), &recv_shape_, 0);
    else
      io_uring_prep_recv_multishot(sqe(), c.fd.get(), nullptr, 0, 0);
    ring_.select_buffer(last_sqe_);
    io_uring_sqe_set_data64(last_sqe_, tag(&c, kRecv));
    c.recv_armed = true;
    c.recv_cancelled = false;
    ++c.in_flight;
  }

  void arm_send(Connection& c) {
    const std::string_view out = c.session.pending_output();
    io_uring_prep_send(sqe(), c.fd.get(), out.data(), out.size(), MSG_NOSIGNAL);
    io_uring_sqe_set_data64(last_sqe_, tag(&c, kSend));
    c.sending = true;
    ++c.in_flight;
  }

  void arm_timer(Connection& c, std::chrono::microseconds wait) {
    c.wait.tv_sec = wait.count() / 1'000'000;
    c.wait.tv_nsec = (wait.count() % 1'000'000) * 1000;
    io_uring_prep_timeout(sqe(), &c.wait, 0, 0);
    io_uring_sqe_set_data64(last_sqe_, tag(&c, kTimer));
    c.timer_armed = true;
    ++c.in_flight;
  }

  void handle(const io_uring_cqe& cqe) {
    const uint64_t data = io_uring_cqe_get_data64(&cqe);
    const auto op = static_cast<Op>(data & 7);
    if (op == kStop) {
      stopping_ = true;
      return;
    }
    if (op == kAccept) {
      on_accept(cqe);
      return;
    }
    if (op == kSweep) {
      sweep();
      resume_accept();
      if (!stopping_) arm_sweep();
      return;
    }
    auto* c = reinterpret_cast<Connection*>(data & ~uint64_t{7});
    // A multishot recv is one submission with many completions: it is done
    // only at the completion without IORING_CQE_F_MORE. Counting every
    // completion would free the connection while its recv is still armed.
    if (op != kRecv || (cqe.flags & IORING_CQE_F_MORE) == 0) --c->in_flight;
    switch (op) {
      case kRecv:
        on_recv(*c, cqe);
        break;
      case kSend:
        c->sending = false;
        if (cqe.res < 0)
          close(*c);
        else
          c->session.consume_output(static_cast<size_t>(cqe.res));
        break;
      case kTimer:
        c->timer_armed = false;
        c->wait_elapsed = true;  // its response is added in drive()
        break;
      default:
        break;  // kCancel
    }
    drive(*c);
    if (c->closed && c->in_flight == 0) {
      connections_.erase(c);
      resume_accept();  // a descriptor is free again
    }
  }

  void on_accept(const io_uring_cqe& cqe) {
    if (cqe.res >= 0) {
      auto ticket = gate_.admit(cqe.res);
      if (!ticket) {
        ::close(cqe.res);
        return rearm_accept(cqe);
      }
      net::set_nodelay(cqe.res);
      auto connection =
          std::make_unique<Connection>(cqe.res, std::move(ticket), limits_, stop_.fd());
      Connection& c = *connection;
      connections_.emplace(&c, std::move(connection));
      arm_recv(c);
    } else if (cqe.res == -EMFILE || cqe.res == -ENFILE) {
      // Out of descriptors: drop a pending connection through the spare
      // descriptor. The kernel says EMFILE even with none pending, so when
      // there was none, accepting pauses until a connection closes or the
      // next sweep, instead of failing in a loop.
      const auto outcome = shedder_.accept().outcome;
      if ((outcome == net::Acceptor::Outcome::kNone ||
           outcome == net::Acceptor::Outcome::kExhausted) &&
          (cqe.flags & IORING_CQE_F_MORE) == 0) {
        accept_paused_ = true;
        return;
      }
    }
    rearm_accept(cqe);
  }

  void rearm_accept(const io_uring_cqe& cqe) {
    if ((cqe.flags & IORING_CQE_F_MORE) == 0 && !stopping_) arm_accept();
  }

  void resume_accept() {
    if (!accept_paused_ || stopping_) return;
    accept_paused_ = false;
    arm_accept();
  }

  void on_recv(Connection& c, const io_uring_cqe& cqe) {
    if ((cqe.flags & IORING_CQE_F_MORE) == 0) c.recv_armed = false;
    if (cqe.res > 0 && (cqe.flags & IORING_CQE_F_BUFFER) != 0) {
      const uint16_t id = net::Uring::buffer_id(cqe);
      std::string_view bytes(ring_.buffer(id), static_cast<size_t>(cqe.res));
      int64_t kernel_ns = 0;
      if (limits_.attribution) {
        // A recvmsg's buffer: a header, the control message (the kernel's
        // receive time), then the bytes; none at the peer's shutdown.
        io_uring_recvmsg_out* out =
            io_uring_recvmsg_validate(ring_.buffer(id), cqe.res, &recv_shape_);
        bytes = out == nullptr
                    ? std::string_view()
                    : std::string_view(
                          static_cast<const char*>(io_uring_recvmsg_payload(out, &recv_shape_)),
                          io_uring_recvmsg_payload_length(out, cqe.res, &recv_shape_));
        for (cmsghdr* m = out == nullptr ? nullptr
                                         : io_uring_recvmsg_cmsg_firsthdr(out, &recv_shape_);
             m != nullptr; m = io_uring_recvmsg_cmsg_nexthdr(out, &recv_shape_, m))
          if (const int64_t at = net::received_at(*m)) kernel_ns = at;
      }
      if (bytes.empty()) {
        c.peer_closed = true;
      } else if (!c.closed) {
        c.session.append_input(bytes, kernel_ns);
        c.unprocessed = true;
      }
      ring_.recycle(id);
    } else if (cqe.res == 0) {
      c.peer_closed = true;
    } else if (cqe.res != -ENOBUFS && !(cqe.res == -ECANCELED && c.recv_cancelled)) {
      close(c);  // reset or other error; ENOBUFS or a pause just re-arms below
    }
  }

  // The connection's state machine, as in the readiness loop: handle what
  // arrived, send what was produced, close when done, keep a recv armed.
  void drive(Connection& c) {
    if (c.closed) return;
    // The output buffer must not change while a send is in flight: the
    // kernel reads it until the completion, and new responses could move it.
    if (c.wait_elapsed && !c.sending) {
      c.wait_elapsed = false;
      c.session.finish_wait();
      c.unprocessed = true;  // pipelined requests may follow
    }
    if (c.unprocessed && !c.sending && !c.session.waiting() && !c.session.closing() &&
        !c.session.output_full()) {
      c.unprocessed = false;
      const auto wait = c.session.process(HttpSession::WaitPolicy::kDefer);
      if (wait.count() > 0) arm_timer(c, wait);
      if (c.session.backlogged()) c.unprocessed = true;  // more once the output drains
    }
    if (c.session.has_output() && !c.sending) arm_send(c);
    if (!c.session.has_output() && !c.sending &&
        (c.session.closing() || (c.peer_closed && !c.timer_armed))) {
      close(c);
      return;
    }
    const bool want_input = !c.peer_closed && !c.session.closing() && !input_paused(c);
    if (want_input && !c.recv_armed) {
      arm_recv(c);
    } else if (!want_input && c.recv_armed && !c.recv_cancelled) {
      c.recv_cancelled = true;  // back-pressure: stop taking what it cannot hold
      cancel(c, kRecv);
    }
  }

  void close(Connection& c) {
    if (c.closed) return;
    c.closed = true;
    if (c.recv_armed && !c.recv_cancelled) {
      c.recv_cancelled = true;
      cancel(c, kRecv);
    }
    if (c.sending) cancel(c, kSend);  // a client that does not read holds it forever
    if (c.session.closing()) ::shutdown(c.fd.get(), SHUT_WR);
    // The descriptor stays open until the kernel is done with every
    // operation on it (handle() then frees the connection): closing it now
    // would let the next accept reuse the number while entries naming it
    // may still wait in the submission queue.
  }

  int listen_fd_;
  const StopSignal& stop_;
  Limits limits_;
  ConnectionGate& gate_;
  size_t pause_input_;
  net::Acceptor shedder_;
  __kernel_timespec sweep_every_{};
  net::Uring ring_;
  // What every multishot recvmsg puts in a buffer before the bytes: no
  // address, room for the receive time's control message.
  msghdr recv_shape_{};
  io_uring_sqe* last_sqe_ = nullptr;
  std::unordered_map<Connection*, std::unique_ptr<Connection>> connections_;
  bool stopping_ = false;
  bool accept_paused_ = false;
};

class IoUringServer final : public Server {
 public:
  IoUringServer(const ServerConfig& config, int threads)
      : Server(config, /*reuse_port=*/threads > 1),
        threads_(threads),
        setup_(net::parse_uring_setup(config.uring)) {
    if (const std::string why = net::uring_setup_unavailable_reason(setup_); !why.empty())
      throw std::runtime_error(why);
  }

  void run() override {
    const std::vector<net::Fd> siblings =
        reuseport_siblings(address(), listen_options(/*reuse_port=*/true), threads_);
    // A single-issuer ring belongs to the thread that created it, so each
    // loop sets up its own ring on its own thread.
    run_loops(
        threads_,
        [&](int i) {
          const int fd = i == 0 ? listen_fd() : siblings[static_cast<size_t>(i - 1)].get();
          UringLoop loop(fd, stop_signal(), config().limits, connection_gate(), setup_);
          loop.run();
        },
        *this);
  }

 private:
  int threads_;
  net::UringSetup setup_;
};

}  // namespace

std::string io_uring_unavailable_reason() { return net::uring_unavailable_reason(); }

std::unique_ptr<Server> make_io_uring_server(const ServerConfig& config) {
  return std::make_unique<IoUringServer>(config, thread_count(config, DefaultThreads::kOneLoop));
}

}  // namespace cmb::servers
