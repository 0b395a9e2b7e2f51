// The workload every model serves: any path; the query string picks the work
// (README, "The workload"). Pure functions, safe from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "net/http_request.hpp"

namespace cmb::servers {

struct Work {
  std::chrono::microseconds cpu{0};    // cpu_us: burn the thread's own CPU
  std::chrono::microseconds sleep{0};  // sleep_us: a blocking call
  std::chrono::microseconds wait{0};   // wait_us: a non-blocking wait
  size_t body_bytes = 13;              // bytes, or "Hello, World!"
  bool custom_body = false;
};

inline constexpr uint64_t kMaxWorkMicros = 60'000'000;  // one minute
inline constexpr size_t kMaxBodyBytes = 64 * 1024 * 1024;

// The query keys the handler reads, each with its largest value: parse_work
// and the harness's check of a sweep's workloads read this one table.
struct WorkKey {
  std::string_view name;
  uint64_t max;
  std::string_view unit;  // what the number counts
};
inline constexpr WorkKey kWorkKeys[] = {{"cpu_us", kMaxWorkMicros, "microseconds"},
                                        {"sleep_us", kMaxWorkMicros, "microseconds"},
                                        {"wait_us", kMaxWorkMicros, "microseconds"},
                                        {"bytes", kMaxBodyBytes, "bytes"}};

enum class WorkField { kRead, kUnknownKey, kBadValue };

// Reads one `key=value` pair of a query string into `work`: kBadValue for a
// value that is not a whole number within the key's limit.
WorkField parse_work_field(std::string_view key, std::string_view value, Work& work);

// Calls fn(key, value) for each `&`-separated pair of a query string ("" as
// the value of a key without `=`).
template <typename Fn>
void for_each_query_field(std::string_view query, Fn&& fn) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    fn(pair.substr(0, eq), eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
  }
}

// Reads the work from a query string; keys not in kWorkKeys are ignored, as
// a web server ignores parameters it does not know. Returns 0, or 400 for a
// value parse_work_field refuses.
int parse_work(std::string_view query, Work& work);

// Burns `amount` of the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID)
// doing arithmetic whose result is kept, so the compiler cannot drop it.
// Ends early when `interrupt_fd` (if not -1) becomes readable.
void burn_cpu(std::chrono::microseconds amount, int interrupt_fd = -1);

// Runs the blocking part of the work on the calling thread: CPU, then sleep.
// Both end early when `interrupt_fd` (if not -1) becomes readable: a
// server's stop signal, so that shutdown does not wait out blocked requests.
void run_inline_work(const Work& work, int interrupt_fd = -1);

// Sleeps for `amount`, or until `interrupt_fd` (if not -1) is readable.
void interruptible_sleep(std::chrono::microseconds amount, int interrupt_fd);

// How a response must be framed, kept apart from the Request (whose views die
// with the input buffer) so that a deferred reply can be written later.
struct ReplyFraming {
  bool keep_alive = true;
  int version_minor = 1;
  bool head_only = false;
  static ReplyFraming of(const net::Request& request) {
    return {request.keep_alive, request.version_minor, request.method == net::Method::kHead};
  }
};

// Appends the response to a request whose work is done.
void append_work_response(std::string& out, const Work& work, const ReplyFraming& framing);

}  // namespace cmb::servers
