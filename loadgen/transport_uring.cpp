// The io-uring transport of the load generator's worker (--engine
// io-uring): connects are POLLOUT polls, each open connection keeps one
// multishot receive armed into buffers the kernel picks, and sends go one
// at a time per connection. Everything else is the worker's (worker.cpp).
#include <liburing.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <system_error>

#include "loadgen/worker.hpp"
#include "net/uring.hpp"

namespace cmb::loadgen::detail {
namespace {

// Receive buffers the kernel picks, shared by a thread's connections and
// handed back as soon as their bytes are parsed.
constexpr unsigned kRingEntries = 4096;
constexpr unsigned kBufferCount = 256;  // a power of two
constexpr unsigned kBufferSize = 16 * 1024;

enum class Op : uint64_t { kConnect = 1, kRecv = 2, kSend = 3 };

class UringTransport final : public Transport {
 public:
  explicit UringTransport(Worker& worker)
      : Transport(worker),
        slots_(worker.connection_count()),
        ring_(kRingEntries, kBufferCount, kBufferSize) {}

  void connecting(uint32_t index, Clock::time_point now) override;
  void opened(uint32_t index) override { arm_recv(index); }
  bool send(uint32_t index) override {
    send_next(index);
    return true;
  }
  // Its pending receive and connect complete at once (stale) instead of
  // holding the socket open.
  void closing(int fd) override { ::shutdown(fd, SHUT_RDWR); }
  int wait(Clock::duration wait) override;
  void handle(Clock::time_point now) override;

 private:
  // What the ring keeps of a connection beside the worker's.
  struct Slot {
    // Completions name the socket they were for, so one that arrives after
    // the connection was replaced is recognised as stale.
    uint32_t generation = 0;
    std::string sending;  // bytes the kernel may still be reading
    size_t sending_done = 0;
    bool send_in_flight = false;
  };

  void submit(Op op, uint32_t index, io_uring_sqe* entry);
  void arm_recv(uint32_t index);
  void send_next(uint32_t index);
  void on_completion(const io_uring_cqe& cqe, Clock::time_point now);
  void on_send(uint32_t index, bool current, int result, Clock::time_point now);
  void on_recv(uint32_t index, bool current, bool same_socket, const io_uring_cqe& cqe,
               Clock::time_point now);

  std::vector<Slot> slots_;
  net::Uring ring_;  // last: gone before the buffers its sends may still point into
};

void UringTransport::connecting(uint32_t index, Clock::time_point /*now*/) {
  ++slots_[index].generation;
  io_uring_sqe* entry = ring_.sqe();  // writable once connected
  io_uring_prep_poll_add(entry, worker_.connection(index).fd.get(), POLLOUT);
  submit(Op::kConnect, index, entry);
}

// user_data: the operation, the connection's generation and its index.
void UringTransport::submit(Op op, uint32_t index, io_uring_sqe* entry) {
  io_uring_sqe_set_data64(
      entry, (static_cast<uint64_t>(op) << 56) |
                 (static_cast<uint64_t>(slots_[index].generation & 0xffffff) << 32) | index);
}

void UringTransport::arm_recv(uint32_t index) {
  io_uring_sqe* entry = ring_.sqe();
  io_uring_prep_recv_multishot(entry, worker_.connection(index).fd.get(), nullptr, 0, 0);
  ring_.select_buffer(entry);
  submit(Op::kRecv, index, entry);
}

// One send in flight per connection: its bytes stay put in `sending` until
// it completes, while new requests queue in `out`. That holds across a
// reconnect too, since the kernel may read `sending` until the completion.
void UringTransport::send_next(uint32_t index) {
  Connection& c = worker_.connection(index);
  Slot& slot = slots_[index];
  if (slot.send_in_flight || c.state != ConnectionState::kOpen) return;
  if (slot.sending_done == slot.sending.size()) {
    if (c.out.empty()) return;
    slot.sending.swap(c.out);
    c.out.clear();
    slot.sending_done = 0;
  }
  io_uring_sqe* entry = ring_.sqe();
  io_uring_prep_send(entry, c.fd.get(), slot.sending.data() + slot.sending_done,
                     slot.sending.size() - slot.sending_done, MSG_NOSIGNAL);
  submit(Op::kSend, index, entry);
  slot.send_in_flight = true;
}

int UringTransport::wait(Clock::duration wait) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
  __kernel_timespec timeout{ns / 1'000'000'000, ns % 1'000'000'000};
  io_uring_cqe* cqe = nullptr;
  const int rc = io_uring_submit_and_wait_timeout(ring_.get(), &cqe, 1, &timeout, nullptr);
  if (rc < 0 && rc != -ETIME && rc != -EINTR)
    throw std::system_error(-rc, std::generic_category(), "io_uring_submit_and_wait_timeout");
  return static_cast<int>(io_uring_cq_ready(ring_.get()));
}

void UringTransport::handle(Clock::time_point now) {
  unsigned head, seen = 0;
  io_uring_cqe* cqe;
  io_uring_for_each_cqe(ring_.get(), head, cqe) {
    on_completion(*cqe, now);
    ++seen;
  }
  io_uring_cq_advance(ring_.get(), seen);
}

void UringTransport::on_completion(const io_uring_cqe& cqe, Clock::time_point now) {
  const auto op = static_cast<Op>(cqe.user_data >> 56);
  const auto index = static_cast<uint32_t>(cqe.user_data);
  const auto generation = static_cast<uint32_t>(cqe.user_data >> 32) & 0xffffff;
  const Connection& c = worker_.connection(index);
  const bool same_socket = generation == (slots_[index].generation & 0xffffff);
  const bool current = same_socket && c.state != ConnectionState::kClosed;
  if (op == Op::kRecv && (cqe.flags & IORING_CQE_F_BUFFER) != 0) {
    const uint16_t id = net::Uring::buffer_id(cqe);
    if (current && cqe.res > 0)
      worker_.consume(index, std::string_view(ring_.buffer(id), static_cast<size_t>(cqe.res)), now);
    ring_.recycle(id);
  }
  switch (op) {
    case Op::kConnect:
      if (current && c.state == ConnectionState::kConnecting && worker_.connect_succeeded(index))
        worker_.on_connected(index, Clock::now());
      return;
    case Op::kSend:
      on_send(index, current, cqe.res, now);
      return;
    case Op::kRecv:
      on_recv(index, current, same_socket, cqe, now);
      return;
  }
}

void UringTransport::on_send(uint32_t index, bool current, int result, Clock::time_point now) {
  Slot& slot = slots_[index];
  slot.send_in_flight = false;
  if (!current) {  // an old socket's send: its bytes are no longer needed
    slot.sending.clear();
    slot.sending_done = 0;
  } else if (result < 0) {
    worker_.fail(index, &ErrorCounts::write, "write: " + error_text(-result), now);
    return;
  } else {
    slot.sending_done += static_cast<size_t>(result);
  }
  send_next(index);
}

// Still this socket's, open, and the multishot ended: re-arm it.
void UringTransport::on_recv(uint32_t index, bool current, bool same_socket,
                             const io_uring_cqe& cqe, Clock::time_point now) {
  if (cqe.res == 0 && current) {
    worker_.on_eof(index, now);
  } else if (cqe.res < 0 && cqe.res != -ENOBUFS && current) {
    worker_.fail(index, &ErrorCounts::read, "read: " + error_text(-cqe.res), now);
  } else if ((cqe.flags & IORING_CQE_F_MORE) == 0 &&
             worker_.connection(index).state == ConnectionState::kOpen && same_socket) {
    arm_recv(index);
  }
}

}  // namespace

std::unique_ptr<Transport> uring_transport(Worker& worker) {
  return std::make_unique<UringTransport>(worker);
}

}  // namespace cmb::loadgen::detail
