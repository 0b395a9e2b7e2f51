// leader-followers — the POSA2 pattern (Schmidt et al., 2000): N threads
// (--threads, default 4 x cores) share one epoll set in which every socket
// is registered with EPOLLONESHOT. One thread at a time, the leader, holds
// the token and waits in epoll_wait for one event; on getting it, it passes
// the token to a follower and handles the event itself -- reads, runs the
// handler (blocking, like a thread pool), writes -- then re-arms the socket
// and queues up to lead again. EPOLLONESHOT keeps a socket with one thread
// at a time. Unlike epoll-workers (half-sync/half-async) no request is
// handed from an I/O thread to a worker over a queue.
// Good at: blocking handlers without a thread per connection, and fewer
// context switches and hand-offs per request than a queue to a worker pool.
// Breaks: one epoll_wait and one epoll_ctl per event, and the token passes
// through a lock, so on cheap requests it trails a plain loop; the threads
// cap blocking concurrency.

#include <sys/epoll.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <system_error>
#include <vector>

#include "servers/counters.hpp"
#include "servers/http_session.hpp"
#include "servers/loops.hpp"
#include "servers/nonblocking_io.hpp"
#include "servers/server.hpp"

namespace cmb::servers {
namespace {

// epoll_event.data: a connection is its descriptor and generation, so an
// event that outlives its connection is not taken for the next one on it.
constexpr uint64_t kStopTag = ~uint64_t{0};
constexpr uint64_t kListenerTag = kStopTag - 1;
// Read at most this much per event; level-triggered, the rest is another.
constexpr size_t kMaxReadPerTurn = 256 * 1024;

struct Connection : SessionSocket {
  using SessionSocket::SessionSocket;
  std::mutex mutex;  // held by the thread serving it; the sweep only tries it
  bool peer_closed = false;
  bool closed = false;

  uint64_t tag() const { return (generation << 32) | static_cast<uint32_t>(fd.get()); }
};

class LeaderFollowersServer final : public Server {
 public:
  explicit LeaderFollowersServer(const ServerConfig& config)
      : Server(config),
        epoll_(::epoll_create1(EPOLL_CLOEXEC)),
        acceptor_(make_acceptor(listen_fd(), /*nonblocking=*/true)) {
    if (!epoll_) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  }

  void run() override {
    // Level-triggered and never disarmed: every thread that leads sees it.
    if (!watch(EPOLL_CTL_ADD, stop_signal().fd(), EPOLLIN, kStopTag) ||
        !watch(EPOLL_CTL_ADD, listen_fd(), EPOLLIN | EPOLLONESHOT, kListenerTag))
      throw std::system_error(errno, std::generic_category(), "epoll_ctl");
    next_sweep_ = Clock::now() + period();
    run_loops(
        thread_count(config(), DefaultThreads::kBlockingWorkers), [this](int) { follow(); }, *this);
    table_.clear();  // closes what is left: every thread has returned
  }

 private:
  using Clock = std::chrono::steady_clock;

  std::chrono::milliseconds period() const { return sweep_period(config().limits.header_timeout); }

  bool watch(int op, int fd, uint32_t events, uint64_t tag) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = tag;
    return ::epoll_ctl(epoll_.get(), op, fd, &ev) == 0;
  }

  // A follower waits for the token; as leader it waits for one event, then
  // promotes the next follower (by releasing the token) before handling it.
  void follow() {
    register_acceptor();  // any thread may lead when a connection arrives
    for (;;) {
      epoll_event event{};
      int n;
      {
        std::lock_guard leader(token_);
        const auto to_sweep =
            std::chrono::ceil<std::chrono::milliseconds>(next_sweep_.load() - Clock::now());
        n = net::retry_on_eintr([&] {
          return ::epoll_wait(epoll_.get(), &event, 1,
                              static_cast<int>(std::max<int64_t>(to_sweep.count(), 0)));
        });
      }
      if (n < 0) throw std::system_error(errno, std::generic_category(), "epoll_wait");
      if (n == 1) {
        if (event.data.u64 == kStopTag) return;
        if (event.data.u64 == kListenerTag)
          accept_all();
        else
          handle(event.data.u64);
      }
      sweep_if_due();
    }
  }

  // Only the thread holding the listener's one-shot event accepts. The lock
  // says so to readers and to ThreadSanitizer, which cannot see the
  // hand-over through the kernel's EPOLLONESHOT; it is never contended.
  void accept_all() {
    std::lock_guard accepting(accept_mutex_);
    for (;;) {
      auto accepted = acceptor_.accept();
      if (accepted.outcome == net::Acceptor::Outcome::kExhausted) {
        // Out of descriptors: re-arming now would wake a thread at once,
        // again and again. A close or the sweep re-arms it.
        accept_paused_ = true;
        return;
      }
      if (accepted.outcome == net::Acceptor::Outcome::kNone) break;
      if (accepted.outcome != net::Acceptor::Outcome::kAccepted) continue;
      const int fd = accepted.fd.get();
      auto ticket = connection_gate().admit(fd);
      if (!ticket) continue;
      auto c =
          std::make_shared<Connection>(std::move(accepted.fd), std::move(ticket),
                                       next_generation_++, config().limits, stop_signal().fd());
      {
        std::lock_guard lock(table_mutex_);
        if (table_.size() <= static_cast<size_t>(fd)) table_.resize(static_cast<size_t>(fd) + 1);
        table_[static_cast<size_t>(fd)] = c;
      }
      if (!watch(EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, c->tag())) {
        count(Counter::kRefused);
        std::lock_guard lock(c->mutex);
        close(*c);
      }
    }
    rearm_listener();
  }

  void rearm_listener() { watch(EPOLL_CTL_MOD, listen_fd(), EPOLLIN | EPOLLONESHOT, kListenerTag); }

  std::shared_ptr<Connection> find(uint64_t tag) {
    const auto fd = static_cast<size_t>(tag & 0xffffffffu);
    std::lock_guard lock(table_mutex_);
    if (fd >= table_.size() || !table_[fd] || table_[fd]->tag() != tag) return nullptr;
    return table_[fd];
  }

  void handle(uint64_t tag) {
    const std::shared_ptr<Connection> c = find(tag);
    if (!c) return;
    std::lock_guard lock(c->mutex);
    if (!c->closed) serve(*c);
  }

  // Flushes what the last turn left, reads, handles every complete request
  // on this thread, writes, and re-arms the socket for what it waits on.
  void serve(Connection& c) {
    const int fd = c.fd.get();
    if (flush_nonblocking(fd, c.session) == FlushOutcome::kError) return close(c);
    if (!c.session.has_output() && !c.session.closing() && !c.peer_closed) {
      const auto read = read_nonblocking(fd, c.session, kMaxReadPerTurn, /*until_eof=*/false);
      if (read.outcome == ReadOutcome::kError) return close(c);
      c.peer_closed = read.outcome == ReadOutcome::kEof;
    }
    while (!c.session.has_output() && !c.session.closing()) {
      c.session.process(HttpSession::WaitPolicy::kBlock);
      if (flush_nonblocking(fd, c.session) == FlushOutcome::kError) return close(c);
      if (!c.session.backlogged()) break;  // else the output cap stopped it: go on
    }
    if (!c.session.has_output() && (c.session.closing() || c.peer_closed)) return close(c);
    rearm(c);
  }

  // Level-triggered: data that is still unread, or room to write, fires
  // again at once. Output waiting means back-pressure: no reading until it
  // has gone.
  void rearm(Connection& c) {
    const uint32_t interest = c.session.has_output() ? EPOLLOUT : EPOLLIN | EPOLLRDHUP;
    if (!watch(EPOLL_CTL_MOD, c.fd.get(), interest | EPOLLONESHOT, c.tag())) close(c);
  }

  // The caller holds c.mutex.
  void close(Connection& c) {
    c.closed = true;
    const int fd = c.fd.get();
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    if (c.session.closing()) ::shutdown(fd, SHUT_WR);  // our FIN before the close
    {
      std::lock_guard lock(table_mutex_);
      auto& slot = table_[static_cast<size_t>(fd)];
      if (slot && slot->tag() == c.tag()) slot.reset();
    }
    c.fd.reset();
    c.ticket = {};
    if (accept_paused_.exchange(false)) rearm_listener();
  }

  // Closes the connections past the header timeout (408 first when they sent
  // part of a request), a few times per timeout, on whichever thread finds
  // it due. A connection being served is skipped: it is making progress.
  void sweep_if_due() {
    auto due = next_sweep_.load();
    const auto now = Clock::now();
    if (now < due || !next_sweep_.compare_exchange_strong(due, now + period())) return;
    if (accept_paused_.exchange(false)) rearm_listener();  // another process may have freed some
    std::vector<std::shared_ptr<Connection>> all;
    {
      std::lock_guard lock(table_mutex_);
      for (const auto& c : table_)
        if (c) all.push_back(c);
    }
    const auto session_now = HttpSession::Clock::now();
    for (const auto& c : all) {
      std::unique_lock lock(c->mutex, std::try_to_lock);
      if (!lock || c->closed || !c->session.expired(session_now)) continue;
      if (!c->session.time_out() ||
          flush_nonblocking(c->fd.get(), c->session) != FlushOutcome::kBlocked)
        close(*c);
      else
        rearm(*c);  // the 408 goes once there is room, then the connection closes
    }
  }

  net::Fd epoll_;
  std::mutex accept_mutex_;  // held while acceptor_ is used
  net::Acceptor acceptor_;
  std::mutex token_;  // the leader holds it while it waits for an event
  std::atomic<Clock::time_point> next_sweep_{};
  std::atomic<bool> accept_paused_{false};
  std::atomic<uint32_t> next_generation_{1};  // wraps: a tag keeps 32 bits
  std::mutex table_mutex_;
  std::vector<std::shared_ptr<Connection>> table_;  // indexed by descriptor
};

}  // namespace

std::unique_ptr<Server> make_leader_followers_server(const ServerConfig& config) {
  return std::make_unique<LeaderFollowersServer>(config);
}

}  // namespace cmb::servers
