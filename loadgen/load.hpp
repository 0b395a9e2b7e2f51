// What a load is asked to do and what it measured: the configuration, the
// errors by cause, the histograms and the timeline, and how several threads'
// or agents' results add up. Plain data; loadgen/engine.hpp runs it.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "loadgen/histogram.hpp"
#include "loadgen/schedule.hpp"
#include "loadgen/url.hpp"

namespace cmb::loadgen {

// How each load thread does its I/O. Both run the same schedule, parser
// and accounting.
enum class IoEngine {
  kEpoll,   // readiness: epoll_pwait2, then one recv and one send per call
  kIoUring  // completions: multishot recv into provided buffers, sends and
            // connects submitted in batches, one io_uring_enter per wake-up
};

// The engines as `load --engine` names them: the one list.
struct IoEngineName {
  std::string_view name;
  IoEngine engine;
};
inline constexpr std::array<IoEngineName, 2> kIoEngines{
    {{"epoll", IoEngine::kEpoll}, {"io-uring", IoEngine::kIoUring}}};
std::string_view io_engine_name(IoEngine engine);

struct LoadConfig {
  // Every target must name the same host and port: they share connections.
  std::vector<Target> targets;
  int connections = 10;
  int threads = 2;  // clamped to the number of connections
  std::chrono::nanoseconds duration = std::chrono::seconds(10);
  std::chrono::nanoseconds warmup{0};  // runs before `duration`, not recorded
  std::chrono::nanoseconds timeout = std::chrono::seconds(2);  // per request
  bool keep_alive = true;  // false: a new connection per request
  double rate = 0;         // requests/s over all connections; 0: closed loop
  // Open loop: a rate that changes over the window (`-R A:B`, `-R A,B,C
  // --step T`); `rate` is then its mean (load_config sets both). Without
  // ramps(): `rate` throughout.
  RateProfile ramp;
  Arrival arrival = Arrival::kUniform;
  std::chrono::nanoseconds think{0};  // closed loop: pause before each request
  int pipeline = 1;                   // requests in flight per connection
  uint64_t max_requests = 0;          // stop after sending this many; 0: run for `duration`
  std::vector<int> cpus;              // pin thread i to cpus[i % size]; empty: no pinning
  // Open loop: the timer wakes the thread late (tens of microseconds on a
  // VM), so each thread learns how late and wakes that much early, then
  // polls without sleeping until the send is due -- at most this long per
  // wait. Zero: never spin (less generator CPU, later sends).
  std::chrono::nanoseconds max_spin = std::chrono::microseconds(200);
  // Never sleep: each thread polls for events (a zero timeout) in a loop,
  // a whole CPU each. A sleeping thread must be woken by the CPU that
  // delivers its response, an inter-processor interrupt charged to the
  // server (about one a request in a closed loop; dear on a VM: figures in
  // docs/load-generator.md, "Busy polling"). For load threads pinned to
  // CPUs of their own.
  bool busy_poll = false;
  IoEngine engine = IoEngine::kEpoll;
  // Keep a full-precision latency histogram per second of the measured
  // window (LoadResult::intervals), for HdrHistogram interval logs: 34 KiB
  // per second per thread, twice in an open loop.
  bool interval_histograms = false;
  // Called once as the measured window opens, while every load thread
  // waits at its edge: nothing is sent or read while it runs, and only what
  // happens after it returns is counted. The harness snapshots the server's
  // counters here: the responses the client then counts were all answered
  // after it, but for the `in_flight_at_open` requests. Must not throw.
  std::function<void()> on_window_open;
  // Called once as the measured window closes, when it ran to its end,
  // while every load thread waits at that edge with its connections still
  // open: the harness reads what the server holds waiting then. Must not
  // throw.
  std::function<void()> on_window_close;
  // Connections opened before the run that never send (loadgen/idle.hpp),
  // held until it ends; each wave of them is given at most
  // idle_connect_timeout to connect.
  int idle_connections = 0;
  std::chrono::milliseconds idle_connect_timeout{10'000};
  // Called once the idle connections are open (with how many are), before
  // the run's clock starts: a client sees a connection complete while the
  // server may not have accepted it yet, so the harness waits here until
  // the server's counters show it holds them. Must not throw.
  std::function<void(int)> on_idle_connected;
  // One agent of `segments` that together make one load (k6's execution
  // segments): `connections`, `idle_connections` and `max_requests` are the
  // totals, this agent takes its share of each (segment_share), and its
  // connections keep their places in the one open-loop schedule, so the
  // agents together send what one generator would.
  int segment = 0;
  int segments = 1;
  // Not zero: the run (its warm-up first) starts at this wall-clock instant,
  // nanoseconds since the epoch, so agents on several hosts start together;
  // idle connections are opened before it. Throws std::runtime_error when
  // this agent gets there more than kStartAtSlack late.
  int64_t start_at_ns = 0;
  // Set: called once everything is set up (idle connections open), to learn
  // the start instant then, as start_at_ns -- an agent asks its harness,
  // which starts every agent together once all are ready. Returns 0 to give
  // up (the run then ends at once, counting nothing).
  std::function<int64_t()> await_start;
};

inline constexpr std::chrono::milliseconds kStartAtSlack{100};

// Segment `segment` of `segments` of `total` items: the first and how many.
// The shares differ by at most one, the larger ones first.
struct Share {
  uint64_t first = 0;
  uint64_t count = 0;
};
Share segment_share(uint64_t total, int segment, int segments);

// Errors by cause, as wrk counts them. A response with status >= 400 is a
// completed request and a status error.
// The error_details prefix of replies that are not HTTP/1.x at all.
inline constexpr std::string_view kNotHttp = "read: not HTTP: ";

// The error_details key of a response of status class `hundreds` (4 for
// 404): "status 4xx".
std::string status_detail(int hundreds);

struct ErrorCounts {
  uint64_t connect = 0;
  uint64_t read = 0;
  uint64_t write = 0;
  uint64_t timeout = 0;
  uint64_t status = 0;

  uint64_t total() const;
  ErrorCounts& operator+=(const ErrorCounts& other);
};

// The causes, in the order every report, JSON object and CSV column
// (errors_NAME) lists them: the one list of them.
struct ErrorCause {
  std::string_view name;
  uint64_t ErrorCounts::*count;
};
inline constexpr std::array<ErrorCause, 5> kErrorCauses{{{"connect", &ErrorCounts::connect},
                                                         {"read", &ErrorCounts::read},
                                                         {"write", &ErrorCounts::write},
                                                         {"timeout", &ErrorCounts::timeout},
                                                         {"status", &ErrorCounts::status}}};

struct TargetResult {
  uint64_t requests = 0;
  LatencyHistogram latency;
};

struct TimelineSecond {
  uint64_t requests = 0;
  uint64_t errors = 0;
  CoarseLatencyHistogram latency;
};

// Second i of the measured window at full precision (see
// LoadConfig::interval_histograms).
struct IntervalLatency {
  LatencyHistogram latency;      // as LoadResult::latency
  LatencyHistogram uncorrected;  // open loop: as LoadResult::uncorrected_latency
};

struct ThreadUsage {
  double cpu_s = 0;   // user + system
  double wall_s = 0;  // how long the thread ran
  double busy() const { return wall_s > 0 ? cpu_s / wall_s : 0; }
};

// How many slices LoadResult::slices cuts the measured window into: 20,
// where a test for a trend has power (5 to 30 samples), whatever the
// window's length.
inline constexpr size_t kWindowSlices = 20;

struct LoadResult {
  uint64_t requests = 0;   // responses completed in the measured window
  uint64_t sent = 0;       // requests written in the measured window
  uint64_t abandoned = 0;  // still in flight when the run ended
  // Unfinished when the measured window closed, each in `latency` at its
  // age then (a lower bound): requests unanswered, and in an open loop,
  // sends that were due but could not go out (their connection still
  // waiting, reconnecting or never served). Without them a server that
  // starves some connections shows a fine p99 of the few it answers.
  uint64_t unfinished = 0;
  // Requests lost to a timeout in the window, each in `latency` at its age
  // when abandoned (errors.timeout also counts connects that timed out).
  uint64_t timed_out = 0;
  // The sum of the ages of the unanswered (timed_out and unfinished), from
  // their intended send: with answered_ns, the mean over every request
  // sent, which a server that starves most of its clients cannot flatter.
  uint64_t unanswered_ns = 0;
  uint64_t unanswered() const { return timed_out + unfinished; }
  // Connections that got no response in the whole window: starved clients
  // (a closed loop always has requests in flight at its end; this does not
  // count those).
  uint64_t connections_unanswered = 0;
  double unanswered_age_mean_us() const {
    return unanswered() == 0
               ? 0
               : static_cast<double>(unanswered_ns) / static_cast<double>(unanswered()) / 1000.0;
  }
  uint64_t in_flight_at_open = 0;  // sent before the window opened, unanswered then
  // The sum of the `requests`' times, each from its actual send: the
  // requests the server's own stages split, so their mean less the
  // stages' is the time outside the server (unaccounted_mean_us).
  // `latency` also holds unanswered ones, and in an open loop the wait
  // for a send's turn.
  uint64_t answered_ns = 0;
  double answered_mean_us() const {
    return requests == 0
               ? 0
               : static_cast<double>(answered_ns) / static_cast<double>(requests) / 1000.0;
  }
  double duration_s = 0;  // the measured window
  uint64_t bytes_read = 0;
  ErrorCounts errors;
  // "connect: Connection refused", "status 5xx", ... -> how many. Replies
  // that are not HTTP start with kNotHttp.
  std::map<std::string, uint64_t> error_details;
  // Open loop: from the intended send time (corrected). Closed loop: from the
  // actual send. A request that timed out counts with its age when abandoned,
  // one unfinished when the window closed with its age then (`unfinished`).
  LatencyHistogram latency;
  // Open loop only: from the actual send, as a closed loop would see it.
  LatencyHistogram uncorrected_latency;
  // Open loop only: how late sends ran behind their intended times.
  LatencyHistogram schedule_lag;
  LatencyHistogram connect_latency;  // connect() -> connected
  // Per URL, in LoadConfig::targets order; filled only with several URLs
  // (with one, `requests` and `latency` are its figures).
  std::vector<TargetResult> targets;
  std::vector<TimelineSecond> timeline;  // second i of the measured window
  // Responses completed in each of kWindowSlices equal slices of the
  // measured window (what the last wait reads after its end in the last):
  // finer than the timeline, so that a 3 s window is enough samples to test
  // for a trend (the sweep's `steady` column). Empty with max_requests: a
  // run to a budget ends when it is spent, so its window has no length to
  // slice in advance.
  std::vector<uint64_t> slices;
  std::vector<IntervalLatency> intervals;  // with LoadConfig::interval_histograms
  double window_start_epoch_s = 0;         // when the measured window opened (wall clock)
  std::vector<ThreadUsage> threads;
  double cpu_user_s = 0;  // the generator's own threads
  double cpu_system_s = 0;
  // LoadConfig::idle_connections: how many connected, how many did not
  // (idle_error says why the first did not), and how many of those that
  // connected the server had closed by the end of the run.
  uint64_t idle_open = 0;
  uint64_t idle_failed = 0;
  uint64_t idle_closed = 0;
  std::string idle_error;

  double rps() const { return duration_s > 0 ? static_cast<double>(requests) / duration_s : 0; }
  // Adds another thread's (or generator's) figures over the same window:
  // counts add, histograms merge exactly, timelines add second by second,
  // threads are listed together. duration_s is left as it is.
  LoadResult& operator+=(const LoadResult& other);
  // The busiest generator thread's CPU share: near 1 means the client, not
  // the server, set the pace.
  double max_thread_busy() const;
};

}  // namespace cmb::loadgen
