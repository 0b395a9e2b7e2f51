// A growable byte buffer with a read position (muduo's Buffer): received
// bytes are appended at the end and consumed from the front without moving
// the rest on every consume. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace cmb::net {

class Buffer {
 public:
  std::string_view readable() const { return {data_.get() + begin_, end_ - begin_}; }
  size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }

  void consume(size_t n) {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }

  // Space for at least `n` more bytes; call commit() with what was written.
  char* prepare(size_t n) {
    if (capacity_ - end_ < n) make_room(n);
    return data_.get() + end_;
  }
  size_t writable() const { return capacity_ - end_; }
  void commit(size_t n) { end_ += n; }

  void append(std::string_view bytes) {
    std::memcpy(prepare(bytes.size()), bytes.data(), bytes.size());
    commit(bytes.size());
  }

 private:
  void make_room(size_t n) {
    const size_t live = end_ - begin_;
    if (begin_ > 0 && capacity_ - live >= n) {
      std::memmove(data_.get(), data_.get() + begin_, live);
    } else {
      size_t capacity = capacity_ == 0 ? 4096 : capacity_;
      while (capacity - live < n) capacity *= 2;
      auto bigger = std::make_unique_for_overwrite<char[]>(capacity);
      if (live > 0) std::memcpy(bigger.get(), data_.get() + begin_, live);
      data_ = std::move(bigger);
      capacity_ = capacity;
    }
    begin_ = 0;
    end_ = live;
  }

  std::unique_ptr<char[]> data_;
  size_t capacity_ = 0;
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace cmb::net
