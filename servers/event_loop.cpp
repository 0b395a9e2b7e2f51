#include "servers/event_loop.hpp"

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <system_error>
#include <thread>

#include "servers/counters.hpp"
#include "servers/loops.hpp"
#include "servers/nonblocking_io.hpp"

namespace cmb::servers {
namespace {

// Read at most this much per turn, so one client's flood cannot hold the
// loop (the rest is read on the next turn).
constexpr size_t kMaxReadPerTurn = 256 * 1024;

}  // namespace

struct EventLoop::Connection : SessionSocket {
  using SessionSocket::SessionSocket;
  bool busy = false;           // a pool thread owns the session
  bool may_have_input = true;  // readable since the last EAGAIN or short read
  bool eof_pending = false;    // the poller saw the peer's FIN: read until 0
  bool unprocessed = false;    // bytes (or a finished wait) not yet processed
  bool peer_closed = false;
  bool watching_read = true;  // what the poller was last told
  bool watching_write = false;
};

EventLoop::EventLoop(std::unique_ptr<Poller> poller, const Options& options)
    : poller_(std::move(poller)),
      options_(options),
      acceptor_(make_acceptor(options.listen_fd, /*nonblocking=*/true)),
      wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!wake_) throw std::system_error(errno, std::generic_category(), "eventfd");
}

EventLoop::~EventLoop() = default;

void EventLoop::run() {
  register_acceptor();
  if (!poller_->add_listener(options_.listen_fd))
    throw std::system_error(errno, std::generic_category(), "watching the listening socket");
  poller_->add(options_.stop->fd());
  poller_->add(wake_.get());
  std::vector<Poller::Ready> ready;
  next_sweep_ = HttpSession::Clock::now() + sweep_period(options_.limits.header_timeout);
  for (;;) {
    poller_->wait(next_timeout_ms(), ready);
    for (const auto& r : ready) {
      // The control descriptors count only when readable: an eventfd is
      // always writable, and edge-triggered epoll says so.
      if (r.fd == options_.stop->fd()) {
        if (r.readable) return;
      } else if (r.fd == options_.listen_fd) {
        if (r.readable) accept_all();
      } else if (r.fd == wake_.get()) {
        if (r.readable) take_completions();
      } else {
        on_ready(r);
      }
    }
    fire_timers();
    expire_idle();
    if (accept_backlogged_ && retry_accept_) accept_all();
  }
}

int EventLoop::next_timeout_ms() {
  const auto to_sweep =
      std::chrono::ceil<std::chrono::milliseconds>(next_sweep_ - HttpSession::Clock::now());
  return timers_.next_timeout_ms(TimerQueue::Clock::now(),
                                 static_cast<int>(std::max<int64_t>(to_sweep.count(), 0)));
}

// Closes the connections that made no progress within the header timeout
// (a 408 first when they sent part of a request). A walk over every
// connection a few times per timeout costs far less than a timer per request.
void EventLoop::expire_idle() {
  const auto now = HttpSession::Clock::now();
  if (now < next_sweep_) return;
  next_sweep_ = now + sweep_period(options_.limits.header_timeout);
  retry_accept_ = true;
  for (auto& slot : connections_) {
    if (!slot || slot->busy || !slot->session.expired(now)) continue;
    Connection& c = *slot;
    if (c.session.time_out())
      drive(c);  // sends the 408 (or what is left), then closes
    else
      close(c);
  }
}

void EventLoop::accept_all() {
  retry_accept_ = false;
  for (;;) {
    auto accepted = acceptor_.accept();
    accept_backlogged_ = accepted.outcome == net::Acceptor::Outcome::kExhausted;
    if (accepted.outcome == net::Acceptor::Outcome::kNone || accept_backlogged_) return;
    if (accepted.outcome != net::Acceptor::Outcome::kAccepted) continue;
    const int fd = accepted.fd.get();
    auto ticket = options_.gate->admit(fd);
    if (!ticket) continue;
    if (!poller_->add(fd)) {
      count(Counter::kRefused);  // closed by accepted.fd's destructor
      continue;
    }
    if (connections_.size() <= static_cast<size_t>(fd))
      connections_.resize(static_cast<size_t>(fd) + 1);
    connections_[static_cast<size_t>(fd)] =
        std::make_unique<Connection>(std::move(accepted.fd), std::move(ticket), next_generation_++,
                                     options_.limits, options_.stop->fd());
    drive(*connections_[static_cast<size_t>(fd)]);
  }
}

void EventLoop::on_ready(const Poller::Ready& ready) {
  if (static_cast<size_t>(ready.fd) >= connections_.size()) return;
  Connection* c = connections_[static_cast<size_t>(ready.fd)].get();
  if (c == nullptr) return;
  if (ready.hangup && !c->busy) {
    close(*c);
    return;
  }
  if (ready.readable) c->may_have_input = true;
  if (ready.peer_shutdown) c->eof_pending = true;
  drive(*c);
}

bool EventLoop::can_process(const Connection& c) const {
  return c.unprocessed && !c.busy && !c.session.waiting() && !c.session.closing() &&
         !c.session.output_full();
}

bool EventLoop::can_read(const Connection& c) const {
  // Not while its responses pile up unread (output_full): back-pressure.
  return !c.peer_closed && !c.busy && !c.session.waiting() && !c.session.closing() &&
         !c.session.output_full();
}

// The one state machine of a connection: read what may be read, handle what
// was read, write what was produced, close when done, and tell the poller
// what to watch for next.
void EventLoop::drive(Connection& c) {
  for (;;) {
    if (c.busy) break;
    if (can_read(c) && c.may_have_input && !read_input(c)) return;
    if (can_process(c)) {
      if (options_.pool != nullptr && options_.pool_work == PoolWork::kEveryRequest) {
        hand_to_pool(c);
        break;
      }
      c.unprocessed = false;
      const auto wait = c.session.process(options_.pool != nullptr
                                              ? HttpSession::WaitPolicy::kDeferAndHoldBlocking
                                              : HttpSession::WaitPolicy::kDefer);
      if (wait.count() > 0) timers_.add(TimerQueue::Clock::now() + wait, c.fd.get(), c.generation);
      if (c.session.backlogged()) c.unprocessed = true;  // more once the output drains
      if (c.session.blocking_pending()) {
        if (!flush(c)) return;  // the responses before it need not wait
        hand_to_pool(c);
        break;
      }
    }
    if (!flush(c)) return;
    if (!c.session.has_output() &&
        (c.session.closing() || (c.peer_closed && !c.session.waiting()))) {
      close(c);
      return;
    }
    // Flushing may have made room to handle or read more.
    if (!(can_read(c) && c.may_have_input) && !can_process(c)) break;
  }
  update_interest(c);
}

bool EventLoop::read_input(Connection& c) {
  const auto read = read_nonblocking(c.fd.get(), c.session, kMaxReadPerTurn, c.eof_pending);
  if (read.bytes > 0) c.unprocessed = true;
  switch (read.outcome) {
    case ReadOutcome::kMore:
      return true;
    case ReadOutcome::kDrained:
      c.may_have_input = false;
      return true;
    case ReadOutcome::kEof:
      c.peer_closed = true;
      c.may_have_input = false;
      return true;
    case ReadOutcome::kError:
      break;
  }
  close(c);  // reset or other error: this connection is over
  return false;
}

bool EventLoop::flush(Connection& c) {
  if (flush_nonblocking(c.fd.get(), c.session) != FlushOutcome::kError) return true;
  close(c);
  return false;
}

void EventLoop::update_interest(Connection& c) {
  // A busy session belongs to a pool thread: not even a look at it here.
  const bool read = can_read(c);
  const bool write = !c.busy && c.session.has_output();
  if (read == c.watching_read && write == c.watching_write) return;
  c.watching_read = read;
  c.watching_write = write;
  poller_->update(c.fd.get(), read, write);
}

void EventLoop::close(Connection& c) {
  const int fd = c.fd.get();
  poller_->remove(fd);
  if (c.session.closing()) ::shutdown(fd, SHUT_WR);  // our FIN before the close
  connections_[static_cast<size_t>(fd)].reset();
  retry_accept_ = true;
}

void EventLoop::hand_to_pool(Connection& c) {
  c.busy = true;
  c.unprocessed = false;
  HttpSession* session = &c.session;
  Completion done{c.fd.get(), c.generation, {}, false};
  // The session stays put while busy: the loop neither reads nor closes a
  // busy connection, and the pool is stopped before the loop is destroyed.
  update_interest(c);  // before the hand-over: from then on the session is the pool's
  if (options_.pool_work == PoolWork::kBlockingOnly) {
    // Only the held request ran: pipelined ones behind it are the loop's.
    options_.pool->submit([this, session, done]() mutable {
      done.wait = session->run_blocking();
      done.more_input = true;
      post_completion(done);
    });
    return;
  }
  options_.pool->submit([this, session, done]() mutable {
    done.wait = session->process(HttpSession::WaitPolicy::kDefer);
    post_completion(done);
  });
}

// Only the completion that finds the list empty wakes the loop: the ones
// queued behind it ride on the same wake-up, because the loop takes the
// list after the wake-up (a completion queued after the take finds the list
// empty again and writes).
void EventLoop::post_completion(const Completion& completion) {
  bool first;
  {
    std::lock_guard lock(completions_mutex_);
    first = completions_.empty();
    completions_.push_back(completion);
  }
  if (!first) return;
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_.get(), &one, sizeof one);
}

void EventLoop::take_completions() {
  // Each write is a new edge for epoll, so the counter need not be reset:
  // a read per wake-up saved (it would take 2^64 wake-ups to fill it).
  if (!poller_->edge_triggered()) {
    uint64_t count;
    [[maybe_unused]] const ssize_t n = ::read(wake_.get(), &count, sizeof count);
  }
  std::vector<Completion> done;
  {
    std::lock_guard lock(completions_mutex_);
    done.swap(completions_);
  }
  for (const auto& completion : done) {
    Connection* c = find(completion.fd, completion.generation);
    if (c == nullptr) continue;
    c->busy = false;
    if (c->session.backlogged() || completion.more_input) c->unprocessed = true;
    if (completion.wait.count() > 0)
      timers_.add(TimerQueue::Clock::now() + completion.wait, completion.fd, completion.generation);
    drive(*c);
  }
}

void EventLoop::fire_timers() {
  for (const auto& timer : timers_.take_due(TimerQueue::Clock::now())) {
    Connection* c = find(timer.fd, timer.generation);
    if (c == nullptr || !c->session.waiting()) continue;
    c->session.finish_wait();
    c->unprocessed = true;  // pipelined requests may follow the one that waited
    drive(*c);
  }
}

EventLoop::Connection* EventLoop::find(int fd, uint64_t generation) {
  if (fd < 0 || static_cast<size_t>(fd) >= connections_.size()) return nullptr;
  Connection* c = connections_[static_cast<size_t>(fd)].get();
  return c != nullptr && c->generation == generation ? c : nullptr;
}

namespace {

class EventLoopServer final : public Server {
 public:
  EventLoopServer(const ServerConfig& config, std::function<std::unique_ptr<Poller>()> make_poller,
                  int loops, int workers, Listeners listeners, PoolWork pool_work)
      : Server(config, /*reuse_port=*/loops > 1 && listeners == Listeners::kOnePerLoop),
        make_poller_(std::move(make_poller)),
        loops_(loops),
        workers_(workers),
        listeners_(listeners),
        pool_work_(pool_work) {}

  void run() override {
    std::unique_ptr<HandlerPool> pool;
    if (workers_ > 0) pool = std::make_unique<HandlerPool>(workers_);
    const std::vector<net::Fd> siblings =
        listeners_ == Listeners::kOnePerLoop
            ? reuseport_siblings(address(), listen_options(/*reuse_port=*/true), loops_)
            : std::vector<net::Fd>();
    std::vector<std::unique_ptr<EventLoop>> loops;
    for (int i = 0; i < loops_; ++i) {
      const int fd =
          i == 0 || siblings.empty() ? listen_fd() : siblings[static_cast<size_t>(i - 1)].get();
      loops.push_back(std::make_unique<EventLoop>(
          make_poller_(), EventLoop::Options{fd, &stop_signal(), config().limits,
                                             &connection_gate(), pool.get(), pool_work_}));
    }
    // Workers may still hold sessions: finish them before the loops go,
    // however the loops ended.
    struct StopPool {
      HandlerPool* pool;
      ~StopPool() {
        if (pool) pool->stop();
      }
    } stop_pool{pool.get()};
    run_loops(
        loops_, [&](int i) { loops[static_cast<size_t>(i)]->run(); }, *this);
  }

 private:
  std::function<std::unique_ptr<Poller>()> make_poller_;
  int loops_;
  int workers_;
  Listeners listeners_;
  PoolWork pool_work_;
};

}  // namespace

std::unique_ptr<Server> make_event_loop_server(const ServerConfig& config,
                                               std::function<std::unique_ptr<Poller>()> make_poller,
                                               int loops, int workers, Listeners listeners,
                                               PoolWork pool_work) {
  return std::make_unique<EventLoopServer>(config, std::move(make_poller), loops, workers,
                                           listeners, pool_work);
}

}  // namespace cmb::servers
