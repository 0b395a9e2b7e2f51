// fiber — M:N stackful user threads (Boost.Fiber over Boost.Context): a
// fiber per connection runs the same straight-line code as the thread
// models (read, handle, write: servers/blocking_connection.cpp), but where a
// thread would block in poll(2) the fiber parks, and its carrier thread runs
// another. Each carrier (--threads, default one per core) has its own
// SO_REUSEPORT listener, its own fibers, and a Boost.Fiber scheduling
// algorithm whose idle step is an edge-triggered epoll_wait: the netpoller
// (Go's, in C++) resumes the fibers whose sockets became ready, and no
// fiber ever leaves its carrier. wait_us parks the fiber on a timer;
// sleep_us blocks the carrier, as a real blocking call would, with every
// fiber on it. Stacks are 64 KiB with a guard page, touched only as used.
// Good at: thread-style code at event-loop cost: no thread, kernel stack or
// context switch per connection (Capriccio, von Behren et al., HotOS'03).
// Breaks: a blocking call or long CPU burn stalls its carrier's other
// fibers; a stack per connection costs more memory than an event loop's
// state; connections never move between carriers.

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <boost/context/protected_fixedsize_stack.hpp>
#include <boost/fiber/algo/algorithm.hpp>
#include <boost/fiber/condition_variable.hpp>
#include <boost/fiber/context.hpp>
#include <boost/fiber/fiber.hpp>
#include <boost/fiber/mutex.hpp>
#include <boost/fiber/operations.hpp>
#include <boost/fiber/scheduler.hpp>
#include <chrono>
#include <exception>
#include <new>
#include <system_error>
#include <thread>
#include <unordered_set>

#include "servers/blocking_connection.hpp"
#include "servers/counters.hpp"
#include "servers/loops.hpp"

namespace cmb::servers {
namespace {

using Clock = std::chrono::steady_clock;
namespace fibers = boost::fibers;

constexpr size_t kStackBytes = 64 * 1024;
constexpr uint32_t kReadable = 1;
constexpr uint32_t kWritable = 2;
constexpr std::chrono::milliseconds kExhaustedPause{100};

// One fiber parked on one socket, with the readiness seen since it last
// looked. Touched only on its carrier's thread.
struct Parked {
  fibers::context* fiber = nullptr;  // set while parked
  uint32_t want = 0;
  uint32_t pending = 0;  // readiness seen and not yet drained: a call may succeed
  bool hung_up = false;  // the peer shut down: readable (EOF) from now on
  Clock::time_point deadline = Clock::time_point::max();
  bool timed_out = false;
};

// Resumes a parked fiber once (the event, the timeout or the stop: whichever
// comes first). From its carrier's thread only.
void wake(Parked& parked) {
  fibers::context* fiber = std::exchange(parked.fiber, nullptr);
  // Not when its own timer (nap) has readied it already: once in the queue.
  if (fiber != nullptr && !fiber->ready_is_linked()) fibers::context::active()->schedule(fiber);
}

class Carrier;

// A FIFO of ready fibers (Boost's round_robin) whose idle step polls the
// carrier's sockets instead of sleeping on a condition variable.
class NetpollAlgorithm final : public fibers::algo::algorithm {
 public:
  explicit NetpollAlgorithm(Carrier* carrier) : carrier_(carrier) {}
  void awakened(fibers::context* ctx) noexcept override { ctx->ready_link(ready_); }
  fibers::context* pick_next() noexcept override {
    if (ready_.empty()) return nullptr;
    fibers::context* next = &ready_.front();
    ready_.pop_front();
    return next;
  }
  bool has_ready_fibers() const noexcept override { return !ready_.empty(); }
  void suspend_until(const Clock::time_point& until) noexcept override;
  void notify() noexcept override;

 private:
  fibers::scheduler::ready_queue_type ready_;
  Carrier* carrier_;
};

// One carrier thread: its listener, its epoll set, its fibers.
class Carrier {
 public:
  Carrier(int listen_fd, const StopSignal& stop, const Limits& limits, ConnectionGate& gate)
      : listen_fd_(listen_fd),
        stop_(stop),
        limits_(limits),
        gate_(gate),
        epoll_(::epoll_create1(EPOLL_CLOEXEC)),
        wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (!epoll_ || !wake_)
      throw std::system_error(errno, std::generic_category(), "epoll_create1 or eventfd");
  }

  // Serves on the calling thread (a new one: the scheduler stays with it)
  // until the stop signal and every connection's fiber has ended.
  void run() {
    fibers::use_scheduling_algorithm<NetpollAlgorithm>(this);
    register_acceptor();
    if (!watch(wake_.get(), EPOLLIN | EPOLLET, nullptr) ||
        !watch(stop_.fd(), EPOLLIN, &stop_parked_) ||
        !watch(listen_fd_, EPOLLIN | EPOLLET, &accept_parked_))
      throw std::system_error(errno, std::generic_category(), "epoll_ctl");
    launch([this] { accept_loop(); });
    launch([this] { sweep_loop(); });
    park(stop_parked_, kReadable);  // the carrier's main fiber waits for the stop
    // Level-triggered: once seen, it would wake every poll from now on.
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, stop_.fd(), nullptr);
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    stopped_.notify_all();  // fibers in wait_us, the sweeper
    wake(accept_parked_);
    for (Parked* parked : parked_) wake(*parked);
    std::unique_lock lock(mutex_);
    stopped_.wait(lock, [this] { return live_ == 0; });
  }

  // From NetpollAlgorithm::suspend_until: nothing is ready to run, so wait
  // for sockets (or the earliest fiber timer) and resume whoever waited.
  void poll(const Clock::time_point& until) noexcept {
    int timeout_ms = -1;
    if (until != Clock::time_point::max()) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now());
      timeout_ms = static_cast<int>(std::clamp<int64_t>(left.count(), 0, INT32_MAX));
    }
    epoll_event events[256];
    const int n = ::epoll_wait(epoll_.get(), events, 256, timeout_ms);
    for (int i = 0; i < n; ++i) {
      auto* parked = static_cast<Parked*>(events[i].data.ptr);
      if (parked == nullptr) {  // notify(): another thread readied a fiber of ours
        uint64_t count;
        [[maybe_unused]] const ssize_t r = ::read(wake_.get(), &count, sizeof count);
        continue;
      }
      const uint32_t e = events[i].events;
      const bool error = (e & (EPOLLERR | EPOLLHUP)) != 0;
      if ((e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) parked->hung_up = true;
      if ((e & (EPOLLIN | EPOLLRDHUP)) != 0 || error) parked->pending |= kReadable;
      if ((e & EPOLLOUT) != 0 || error) parked->pending |= kWritable;
      if ((parked->pending & parked->want) != 0) wake(*parked);
    }
  }

  void interrupt() noexcept {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_.get(), &one, sizeof one);
  }

  // Parks the calling fiber until `parked` sees `want`, its deadline passes,
  // or the carrier stops; true only in the first case. Readiness stays
  // pending until drained(): edges are not repeated.
  bool park(Parked& parked, uint32_t want) {
    parked.timed_out = false;
    if (!stopping_ && (parked.pending & want) == 0) {
      parked.want = want;
      parked.fiber = fibers::context::active();
      parked.fiber->suspend();
    }
    return !stopping_ && !parked.timed_out;
  }

  static void drain(Parked& parked, uint32_t bits) {
    if (parked.hung_up) bits &= ~kReadable;  // EOF stays readable
    parked.pending &= ~bits;
  }

  // A connection's wait_us: parks the fiber on the scheduler's own timer
  // (a sorted sleep queue), resumed early only by the stop. False when the
  // carrier stopped.
  bool nap(Parked& parked, Clock::duration amount) {
    if (stopping_) return false;
    parked.want = 0;  // no readiness resumes it
    parked.deadline = Clock::time_point::max();
    parked.fiber = fibers::context::active();
    parked.fiber->wait_until(Clock::now() + amount);
    parked.fiber = nullptr;  // resumed by its timer (the stop clears it itself)
    return !stopping_;
  }

  // Sleeps the calling fiber (the acceptor, the sweeper: a condition
  // variable's timed wait costs O(waiters) when it times out, so not for
  // the connections); false when the carrier stopped meanwhile.
  bool sleep(Clock::duration amount) {
    std::unique_lock lock(mutex_);
    return !stopped_.wait_for(lock, amount, [this] { return stopping_; });
  }

  bool stopping() const { return stopping_; }

 private:
  // A connection's fiber waits on its socket through this.
  class FiberWaiting final : public Waiting {
   public:
    FiberWaiting(Carrier& carrier, Parked& parked) : carrier_(carrier), parked_(parked) {}
    bool until_ready(int, short events, int timeout_ms) override {
      parked_.deadline = timeout_ms < 0 ? Clock::time_point::max()
                                        : Clock::now() + std::chrono::milliseconds(timeout_ms);
      return carrier_.park(parked_, (events & POLLOUT) != 0 ? kWritable : kReadable);
    }
    void drained(short events) override {
      drain(parked_, (events & POLLOUT) != 0 ? kWritable : kReadable);
    }
    bool stopped() const override { return carrier_.stopping(); }
    HttpSession::WaitPolicy wait_policy() const override { return HttpSession::WaitPolicy::kDefer; }
    bool sleep(std::chrono::microseconds amount) override { return carrier_.nap(parked_, amount); }

   private:
    Carrier& carrier_;
    Parked& parked_;
  };

  bool watch(int fd, uint32_t events, Parked* parked) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = parked;
    return ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) == 0;
  }

  // Starts a detached fiber; an exception that escapes one would end the
  // process, so each catches its own. Throws when no stack can be had
  // (then nothing was started).
  template <typename Body>
  void launch(Body body) {
    fibers::fiber(std::allocator_arg, boost::context::protected_fixedsize_stack(kStackBytes),
                  [this, body]() mutable {
                    try {
                      body();
                    } catch (...) {
                    }
                    std::lock_guard lock(mutex_);
                    if (--live_ == 0) stopped_.notify_all();
                  })
        .detach();
    ++live_;  // it runs only once this fiber yields
  }

  void accept_loop() {
    net::Acceptor acceptor = make_acceptor(listen_fd_, /*nonblocking=*/true);
    while (!stopping_) {
      auto accepted = acceptor.accept();
      switch (accepted.outcome) {
        case net::Acceptor::Outcome::kAccepted: {
          auto ticket = gate_.admit(accepted.fd.get());
          if (!ticket) break;
          auto socket = std::make_shared<net::Fd>(std::move(accepted.fd));
          auto place = std::make_shared<ConnectionGate::Ticket>(std::move(ticket));
          try {
            launch([this, socket, place] { serve(std::move(*socket), std::move(*place)); });
          } catch (const std::exception&) {
            refuse_unavailable(socket->get());  // no stack for its fiber: 503, as with threads
          }
          break;
        }
        case net::Acceptor::Outcome::kNone:
          drain(accept_parked_, kReadable);
          park(accept_parked_, kReadable);
          break;
        case net::Acceptor::Outcome::kExhausted:
          // No descriptor is free: look again later (without parking, since
          // the connections still queued will bring no new edge).
          sleep(kExhaustedPause);
          break;
        case net::Acceptor::Outcome::kShed:
        case net::Acceptor::Outcome::kFailed:
          break;
      }
    }
  }

  // The socket closes and its place is given back as this returns.
  void serve(net::Fd socket, ConnectionGate::Ticket) {
    const int fd = socket.get();
    Parked parked;
    if (!watch(fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, &parked)) {
      count(Counter::kRefused);
      return;
    }
    parked_.insert(&parked);
    try {
      FiberWaiting waiting(*this, parked);
      serve_connection(fd, waiting, limits_, stop_.fd());
    } catch (const std::bad_alloc&) {
      refuse_unavailable(fd);  // as serve_blocking does
    }
    parked_.erase(&parked);
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  }

  // Resumes the fibers whose deadline passed (a few times per header
  // timeout, as the event loops sweep), so that a connection that makes no
  // progress is timed out without a timer per wait.
  void sweep_loop() {
    const auto period = sweep_period(limits_.header_timeout);
    while (sleep(period)) {
      const auto now = Clock::now();
      for (Parked* parked : parked_) {
        if (parked->fiber != nullptr && now >= parked->deadline) {
          parked->timed_out = true;
          wake(*parked);
        }
      }
    }
  }

  int listen_fd_;
  const StopSignal& stop_;
  const Limits& limits_;
  ConnectionGate& gate_;
  net::Fd epoll_;
  net::Fd wake_;
  Parked stop_parked_;
  Parked accept_parked_;
  std::unordered_set<Parked*> parked_;  // every connection's
  fibers::mutex mutex_;
  fibers::condition_variable stopped_;  // stopping_ set, or live_ reached 0
  bool stopping_ = false;
  int live_ = 0;  // fibers launched and not yet ended
};

void NetpollAlgorithm::suspend_until(const Clock::time_point& until) noexcept {
  carrier_->poll(until);
}

void NetpollAlgorithm::notify() noexcept { carrier_->interrupt(); }

class FiberServer final : public Server {
 public:
  explicit FiberServer(const ServerConfig& config)
      : Server(config, /*reuse_port=*/thread_count(config, DefaultThreads::kLoopPerCore) > 1),
        carriers_(thread_count(config, DefaultThreads::kLoopPerCore)) {}

  void run() override {
    const std::vector<net::Fd> siblings =
        reuseport_siblings(address(), listen_options(/*reuse_port=*/true), carriers_);
    // Each carrier on a thread of its own, since a thread keeps its fiber
    // scheduler until it exits.
    run_loops(
        carriers_,
        [&](int i) {
          std::exception_ptr failure;
          std::thread carrier([&] {
            try {
              Carrier(i == 0 ? listen_fd() : siblings[static_cast<size_t>(i - 1)].get(),
                      stop_signal(), config().limits, connection_gate())
                  .run();
            } catch (...) {
              failure = std::current_exception();
            }
          });
          carrier.join();
          if (failure) std::rethrow_exception(failure);
        },
        *this);
  }

 private:
  int carriers_;
};

}  // namespace

std::unique_ptr<Server> make_fiber_server(const ServerConfig& config) {
  return std::make_unique<FiberServer>(config);
}

}  // namespace cmb::servers
