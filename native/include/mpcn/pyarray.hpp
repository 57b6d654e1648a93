// Helpers for pybind11 bindings: checked access to C-contiguous numpy buffers.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace mpcn {
namespace py = pybind11;

using U64Array = py::array_t<uint64_t, py::array::c_style>;

// The Python wrappers validate dtypes and shapes and give user-facing errors; these checks only
// guard the native boundary against misuse.
inline const uint64_t* u64_ptr(const U64Array& a) { return a.data(); }
inline uint64_t* u64_mut(U64Array& a) {
  if (!a.writeable()) throw std::invalid_argument("output array is read-only");
  return a.mutable_data();
}
inline void require_same_size(const U64Array& a, const U64Array& b, const char* what) {
  if (a.size() != b.size())
    throw std::invalid_argument(std::string(what) + ": arrays differ in size (" + std::to_string(a.size()) +
                                " vs " + std::to_string(b.size()) + ")");
}

// Release the GIL only when the work is large enough to be worth it.
constexpr size_t kReleaseGil = 1 << 14;

}  // namespace mpcn
