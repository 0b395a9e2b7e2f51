#include "harness/verify/checks.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <thread>

#include "net/blocking_client.hpp"
#include "net/http_response.hpp"
#include "net/socket.hpp"

namespace cmb::harness {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using net::BlockingClient;
using net::ClientResponse;

CheckResult pass(std::string seen) { return {{}, CheckOutcome::kPass, std::move(seen)}; }
CheckResult fail(std::string seen) { return {{}, CheckOutcome::kFail, std::move(seen)}; }

BlockingClient connect(const VerifyTarget& target) {
  return BlockingClient(target.port, target.timeout, target.host);
}

std::string request(std::string_view target, std::string_view headers = "") {
  return fmt::format("GET {} HTTP/1.1\r\nHost: verify\r\n{}\r\n", target, headers);
}

std::string describe(const std::optional<ClientResponse>& response) {
  if (!response) return "no response";
  return fmt::format("status {} with {} bytes of body", response->status, response->body_bytes);
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

CheckResult hello(const VerifyTarget& target) {
  BlockingClient client = connect(target);
  if (!client.connected()) return fail("could not connect");
  const auto response = client.get("/");
  if (!response || response->status != 200 || response->body_bytes == 0)
    return fail("GET /: " + describe(response));
  return pass(fmt::format("GET /: 200, {} bytes", response->body_bytes));
}

// Whether the target is checked for a workload key: the checks of other
// keys' answers ask only for hello.
bool checks_key(const VerifyTarget& target, std::string_view key) {
  return target.workload && (!target.keys || std::find(target.keys->begin(), target.keys->end(),
                                                       key) != target.keys->end());
}

// The median time of 20 hellos on one connection, in ms; with
// `quick_ack`, the client acknowledges each piece of an answer at once
// instead of delaying its ACK. std::nullopt (and `seen` says why) when one
// was not answered 200.
std::optional<double> median_hello_ms(const VerifyTarget& target, bool quick_ack,
                                      std::string& seen) {
  constexpr int kRequests = 20;
  BlockingClient client = connect(target);
  std::vector<double> took;
  for (int i = 1; i <= kRequests; ++i) {
    const auto start = Clock::now();
    if (!client.send_all(request("/"))) {
      seen = "could not send";
      return std::nullopt;
    }
    if (quick_ack) net::set_quick_ack(client.fd());  // after sending, which leaves it
    const auto response = client.read_response();
    if (!response || response->status != 200) {
      seen = fmt::format("request {} of {}: {}", i, kRequests, describe(response));
      return std::nullopt;
    }
    took.push_back(ms_since(start));
  }
  std::nth_element(took.begin(), took.begin() + kRequests / 2, took.end());
  return took[kRequests / 2];
}

// A hello at one connection does not wait for the client's delayed ACK (40
// ms on Linux): a server that writes an answer in pieces with Nagle's
// algorithm on holds the second piece until that ACK, and every latency
// it reports is that wait. A server slow for its own reasons passes: told
// apart by asking again with the client acknowledging at once.
CheckResult prompt(const VerifyTarget& target) {
  constexpr double kPromptMs = 10;
  std::string seen;
  const std::optional<double> plain = median_hello_ms(target, false, seen);
  if (!plain) return fail(seen);
  seen = fmt::format("hello on one connection: a median of {:.2f} ms", *plain);
  if (*plain <= kPromptMs) return pass(seen);
  const std::optional<double> quick = median_hello_ms(target, true, seen);
  if (!quick) return fail(seen);
  if (*quick > kPromptMs && *quick > *plain / 2)
    return pass(seen + fmt::format(", {:.2f} ms with the client's ACKs at once: slow, not "
                                   "waiting for them",
                                   *quick));
  return fail(seen + fmt::format(", {:.2f} ms with the client's ACKs at once: it waits for "
                                 "the client's delayed ACK, the mark of Nagle's algorithm "
                                 "holding the second piece of an answer (set TCP_NODELAY, or "
                                 "write each answer at once)",
                                 *quick));
}

CheckResult keep_alive(const VerifyTarget& target) {
  BlockingClient client = connect(target);
  constexpr int kRequests = 20;
  for (int i = 1; i <= kRequests; ++i) {
    const auto response = client.get("/");
    if (!response || response->status != 200)
      return fail(
          fmt::format("request {} of {} on one connection: {}", i, kRequests, describe(response)));
    if (!response->keep_alive && i < kRequests)
      return fail(fmt::format("response {} closed the connection", i));
  }
  return pass(fmt::format("{} requests on one connection", kRequests));
}

CheckResult bytes(const VerifyTarget& target) {
  BlockingClient client = connect(target);
  std::vector<uint64_t> sizes = {0, 1, 100, 100'000};
  for (const uint64_t size : sizes) {
    const auto response = client.get(fmt::format("/?bytes={}", size));
    if (!response || response->status != 200 || response->body_bytes != size)
      return fail(fmt::format("bytes={}: {}", size, describe(response)));
  }
  return pass(fmt::format("bodies of exactly {} bytes", fmt::join(sizes, ", ")));
}

// The request takes at least its work: a server that skips it "wins".
CheckResult takes_its_time(const VerifyTarget& target, std::string_view parameter) {
  constexpr int kMicros = 20'000;
  BlockingClient client = connect(target);
  const auto start = Clock::now();
  const auto response = client.get(fmt::format("/?{}={}", parameter, kMicros));
  const double took = ms_since(start);
  if (!response || response->status != 200)
    return fail(fmt::format("{}={}: {}", parameter, kMicros, describe(response)));
  const std::string seen = fmt::format("{}={} answered in {:.1f} ms", parameter, kMicros, took);
  return took >= kMicros / 1000.0 ? pass(seen) : fail(seen + ": under its 20 ms");
}

// Waits on several connections at once overlap: four of 300 ms each end
// well before the 1.2 s they would take in turn.
CheckResult waits_overlap(const VerifyTarget& target) {
  constexpr int kClients = 4;
  constexpr double kWaitMs = 300;
  std::vector<BlockingClient> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(connect(target));
  const auto start = Clock::now();
  for (auto& client : clients)
    if (!client.send_all(request(fmt::format("/?wait_us={}", kWaitMs * 1000))))
      return fail("could not send");
  for (int i = 0; i < kClients; ++i) {
    const auto response = clients[static_cast<size_t>(i)].read_response();
    if (!response || response->status != 200)
      return fail(fmt::format("connection {}: {}", i + 1, describe(response)));
  }
  const double took = ms_since(start);
  const std::string seen = fmt::format("{} waits of {:g} ms on {} connections took {:.0f} ms",
                                       kClients, kWaitMs, kClients, took);
  if (took < kWaitMs) return fail(seen + ": under one wait");
  return took < 0.75 * kClients * kWaitMs ? pass(seen) : fail(seen + ": one after another");
}

CheckResult pipelining(const VerifyTarget& target) {
  constexpr int kRequests = 20;
  BlockingClient client = connect(target);
  std::string batch;
  for (int i = 1; i <= kRequests; ++i)
    batch += request(checks_key(target, "bytes") ? fmt::format("/?bytes={}", i) : std::string("/"));
  if (!client.send_all(batch)) return fail("could not send");
  uint64_t hello_bytes = 0;
  for (int i = 1; i <= kRequests; ++i) {
    const auto response = client.read_response();
    if (!response || response->status != 200)
      return fail(fmt::format("response {} of {} pipelined: {}", i, kRequests, describe(response)));
    if (i == 1) hello_bytes = response->body_bytes;  // a static server's every answer
    const uint64_t due = checks_key(target, "bytes") ? static_cast<uint64_t>(i) : hello_bytes;
    if (response->body_bytes != due)
      return fail(
          fmt::format("response {} of {} pipelined had {} bytes, not {}: out of order or "
                      "one dropped",
                      i, kRequests, response->body_bytes, due));
  }
  return pass(fmt::format("{} pipelined requests answered in order", kRequests));
}

CheckResult split(const VerifyTarget& target) {
  BlockingClient client = connect(target);
  net::set_nodelay(client.fd());  // each byte its own segment
  const bool sized = checks_key(target, "bytes");
  const std::string bytes = request(sized ? "/?bytes=7" : "/");
  for (const char byte : bytes) {
    if (!client.send_all(std::string_view(&byte, 1))) return fail("could not send");
    std::this_thread::sleep_for(1ms);
  }
  const auto response = client.read_response();
  if (!response || response->status != 200 || (sized && response->body_bytes != 7))
    return fail(fmt::format("a request sent byte by byte: {}", describe(response)));
  return pass(fmt::format("a request in {} one-byte pieces answered", bytes.size()));
}

// Bad input gets its status, and the connection closes.
CheckResult status_for(const VerifyTarget& target, const std::string& bytes, int status,
                       std::string_view what) {
  BlockingClient client = connect(target);
  client.send_all(bytes);  // may fail once the server has answered and closed
  const auto response = client.read_response();
  if (!response || response->status != status)
    return fail(fmt::format("{}: {} (not {})", what, describe(response), status));
  return pass(fmt::format("{}: {}", what, status));
}

CheckResult status_400(const VerifyTarget& target) {
  return status_for(target, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length : 1\r\n\r\nx", 400,
                    "a space before a header's colon");
}
CheckResult status_431(const VerifyTarget& target) {
  return status_for(target, request("/", "X: " + std::string(64 * 1024, 'a') + "\r\n"), 431,
                    "a 64 KiB header");
}
CheckResult status_413(const VerifyTarget& target) {
  // The body is refused at its headers, while it is still being sent.
  constexpr size_t kBody = 8 * 1024 * 1024;
  return status_for(target,
                    fmt::format("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{}", kBody,
                                std::string(kBody, 'x')),
                    413, "an 8 MiB body");
}
CheckResult status_501(const VerifyTarget& target) {
  return status_for(target, "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n", 501,
                    "a chunked request body");
}

// A client that sends half a request and stops holds no one else up.
CheckResult slow_client(const VerifyTarget& target) {
  BlockingClient slow = connect(target);
  if (!slow.send_all("GET / HTTP/1.1\r\nHo")) return fail("could not send");
  std::this_thread::sleep_for(50ms);  // accepted and read before the other comes
  BlockingClient other = connect(target);
  other.set_timeout(1000ms);
  const auto start = Clock::now();
  const auto response = other.get("/");
  if (!response || response->status != 200)
    return fail(fmt::format("beside a client stalled mid-request another got {} within 1 s",
                            describe(response)));
  return pass(
      fmt::format("beside a stalled client, another answered in {:.1f} ms", ms_since(start)));
}

CheckResult connection_close(const VerifyTarget& target) {
  BlockingClient client = connect(target);
  if (!client.send_all(request("/", "Connection: close\r\n"))) return fail("could not send");
  const auto response = client.read_response();
  if (!response || response->status != 200) return fail(describe(response));
  if (!client.closed_by_peer()) return fail("the connection stayed open");
  // RFC 9112 9.6: it must close, and should say so.
  return pass(response->keep_alive ? "answered, then closed (without saying it would)"
                                   : "answered, then closed");
}

// The response ends where its headers say, and so does the connection:
// the bytes read to the close, through the one response parser, leave
// nothing over and are not cut short.
CheckResult content_length(const VerifyTarget& target) {
  BlockingClient client = connect(target);
  if (!client.send_all(
          request(checks_key(target, "bytes") ? "/?bytes=1000" : "/", "Connection: close\r\n")))
    return fail("could not send");
  const auto raw = client.read_to_eof();
  if (!raw) return fail("the connection did not close after a Connection: close request");
  net::ResponseParser parser;  // ready for a response as constructed
  const size_t used = parser.feed(*raw);
  if (parser.state() == net::ResponseParser::State::kIncomplete) parser.on_eof();
  if (parser.state() != net::ResponseParser::State::kComplete)
    return fail(fmt::format("the response is cut short or malformed: {}", parser.error()));
  if (used != raw->size())
    return fail(
        fmt::format("the connection carried {} more after the {}-byte body its headers announced",
                    raw->size() - used, parser.body_bytes()));
  return pass(fmt::format("a body of {} bytes, as its headers announced", parser.body_bytes()));
}

}  // namespace

const std::vector<Check>& verify_checks() {
  using enum CheckGroup;
  static const std::vector<Check> kChecks = {
      {.name = "hello", .what = "GET / is answered 200 with a body", .run = hello},
      {.name = "prompt",
       .what = "a hello at one connection does not wait for the client's delayed ACK",
       .run = prompt},
      {.name = "keep-alive", .what = "20 requests on one connection", .run = keep_alive},
      {.name = "bytes",
       .what = "bytes=N gives a body of exactly N bytes",
       .key = "bytes",
       .run = bytes},
      {.name = "cpu_us",
       .what = "cpu_us=20000 takes at least 20 ms",
       .key = "cpu_us",
       .run = [](const VerifyTarget& t) { return takes_its_time(t, "cpu_us"); }},
      {.name = "sleep_us",
       .what = "sleep_us=20000 takes at least 20 ms",
       .key = "sleep_us",
       .run = [](const VerifyTarget& t) { return takes_its_time(t, "sleep_us"); }},
      {.name = "wait_us",
       .what = "waits on four connections overlap",
       .key = "wait_us",
       .needs_concurrency = true,
       .run = waits_overlap},
      {.name = "pipelining",
       .what = "20 pipelined requests answered in order, none dropped",
       .needs_pipelining = true,
       .run = pipelining},
      {.name = "split", .what = "a request sent byte by byte is answered", .run = split},
      {.name = "slow-client",
       .what = "a client stalled mid-request holds no one else up",
       .needs_concurrency = true,
       .run = slow_client},
      {.name = "connection-close",
       .what = "Connection: close is answered, then closed",
       .run = connection_close},
      {.name = "content-length",
       .what = "the body is as long as Content-Length says",
       .run = content_length},
      {.name = "status-400",
       .what = "malformed input gets 400",
       .group = kHardening,
       .run = status_400},
      {.name = "status-431",
       .what = "a 64 KiB header gets 431",
       .group = kHardening,
       .run = status_431},
      {.name = "status-413",
       .what = "an 8 MiB body gets 413",
       .group = kHardening,
       .run = status_413},
      {.name = "status-501",
       .what = "a chunked request body gets 501",
       .group = kHardening,
       .run = status_501},
  };
  return kChecks;
}

std::string_view group_name(CheckGroup group) {
  return group == CheckGroup::kHardening ? "hardening" : "measurement";
}

VerifyTarget model_target(const servers::ModelInfo& model, uint16_t port) {
  VerifyTarget target;
  target.port = port;
  target.workload = model.workload;
  target.concurrent = model.concurrent;
  return target;
}

namespace {

// Why the check does not apply to what the target claims; empty when it does.
std::string skip_reason(const Check& check, const VerifyTarget& target) {
  const bool needs_workload = !check.key.empty() || check.group == CheckGroup::kHardening;
  if (needs_workload && !target.workload)
    return "a static server: cmbench's workload and limits do not apply";
  if (!check.key.empty() && !checks_key(target, check.key))
    return fmt::format("the sweep gives no {}", check.key);
  if (check.needs_concurrency && !target.concurrent)
    return "serves one connection at a time, as it says";
  if (check.needs_pipelining && !target.pipelined) return "the load does not pipeline";
  return "";
}

}  // namespace

CheckResult run_check(const Check& check, const VerifyTarget& target) {
  CheckResult result;
  if (std::string why = skip_reason(check, target); !why.empty())
    result = {{}, CheckOutcome::kSkip, std::move(why)};
  else
    try {
      result = check.run(target);
    } catch (const std::exception& e) {
      result = fail(e.what());
    }
  result.name = check.name;
  result.group = check.group;
  return result;
}

std::vector<CheckResult> run_checks(const VerifyTarget& target,
                                    const std::function<void(const CheckResult&)>& on_result) {
  std::vector<CheckResult> results;
  for (const auto& check : verify_checks()) {
    results.push_back(run_check(check, target));
    if (on_result) on_result(results.back());
  }
  return results;
}

std::vector<std::string> failures(const std::vector<CheckResult>& results, CheckGroup group) {
  std::vector<std::string> failed;
  for (const auto& result : results)
    if (result.outcome == CheckOutcome::kFail && result.group == group)
      failed.push_back(fmt::format("{}: {}", result.name, result.seen));
  return failed;
}

std::string_view outcome_text(CheckOutcome outcome) {
  switch (outcome) {
    case CheckOutcome::kPass:
      return "pass";
    case CheckOutcome::kFail:
      return "FAIL";
    case CheckOutcome::kSkip:
      return "skip";
  }
  return "?";
}

}  // namespace cmb::harness
