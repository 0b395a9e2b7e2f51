// A bounded multi-producer multi-consumer queue that can be closed: the
// hand-over between an acceptor or I/O thread and a pool of workers.
// Thread-safe. Given a stage, what it holds is counted as waiting there
// (servers/counters.hpp enter_wait), for the server's own view.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>

#include "servers/counters.hpp"

namespace cmb::servers {

template <typename T>
class WorkQueue {
 public:
  explicit WorkQueue(size_t capacity, std::optional<Stage> counted = std::nullopt)
      : capacity_(capacity), counted_(counted) {}

  // Blocks while full. False when closed (the item is dropped).
  bool push(T item) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] { return closed_ || items_.size() < capacity_; });
    if (closed_) return false;
    const auto now = std::chrono::steady_clock::now();
    if (counted_) enter_wait(*counted_, now);
    items_.emplace_back(std::move(item), now);
    not_empty_.notify_one();
    return true;
  }

  // Blocks while empty. std::nullopt once closed and drained.
  std::optional<T> pop() {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    std::optional<T> item(std::move(items_.front().first));
    if (counted_) leave_wait(*counted_, items_.front().second);
    items_.pop_front();
    not_full_.notify_one();
    return item;
  }

  // Wakes every waiter; later pushes fail, pops drain what is left.
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<std::pair<T, std::chrono::steady_clock::time_point>> items_;  // and since when
  size_t capacity_;
  std::optional<Stage> counted_;
  bool closed_ = false;
};

}  // namespace cmb::servers
