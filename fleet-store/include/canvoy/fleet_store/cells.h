// Vectors whose resize() leaves new elements unwritten, for cells that are written right after
// (decoded columns, joined rows).
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

namespace canvoy::fleet_store {

// std::allocator, except that a vector's resize() leaves the new elements default-initialized:
// numbers unwritten. Decoders and the query engine size their vectors and then write every cell
// (decoded columns, joins, gathers), so zeroing them first would be a wasted pass.
template <class T>
struct UninitAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = UninitAllocator<U>;
  };
  UninitAllocator() = default;
  template <class U>
  UninitAllocator(const UninitAllocator<U>&) noexcept {}
  template <class U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
// A vector of row cells (see UninitAllocator).
template <class T>
using Cells = std::vector<T, UninitAllocator<T>>;

// Appends [first, last) to `cells` with one memmove (insert() would construct cell by cell
// through the allocator).
template <class T>
void AppendCells(Cells<T>& cells, const T* first, const T* last) {
  const std::size_t before = cells.size();
  cells.resize(before + static_cast<std::size_t>(last - first));
  std::copy(first, last, cells.data() + before);
}

}  // namespace canvoy::fleet_store
