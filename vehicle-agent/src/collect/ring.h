// A fixed-capacity ring buffer: allocated once, then Push overwrites the oldest entry when full.
#pragma once

#include <cstddef>
#include <vector>

namespace canvoy::agent {

template <class T>
class Ring {
 public:
  explicit Ring(std::size_t capacity) : slots_(capacity == 0 ? 1 : capacity) {}

  void Push(const T& value) {
    slots_[(head_ + size_) % slots_.size()] = value;
    if (size_ < slots_.size()) {
      ++size_;
    } else {
      head_ = (head_ + 1) % slots_.size();
      ++overwritten_;
    }
  }
  // i = 0 is the oldest entry, size() - 1 the newest.
  const T& operator[](std::size_t i) const { return slots_[(head_ + i) % slots_.size()]; }
  T& operator[](std::size_t i) { return slots_[(head_ + i) % slots_.size()]; }
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return slots_.size(); }
  // Entries lost because the ring was full.
  std::size_t overwritten() const { return overwritten_; }

 private:
  std::vector<T> slots_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
  std::size_t overwritten_ = 0;
};

}  // namespace canvoy::agent
