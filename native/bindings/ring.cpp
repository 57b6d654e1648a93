#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "mpcn/pyarray.hpp"
#include "mpcn/ring.hpp"

namespace py = pybind11;
using mpcn::U64Array;

void register_ring(py::module_& m) {
  m.def(
      "z64_matmul",
      [](U64Array A, U64Array B, U64Array C) {
        if (A.ndim() != 2 || B.ndim() != 2 || C.ndim() != 2) throw std::invalid_argument("z64_matmul: 2-D arrays");
        size_t mm = A.shape(0), k = A.shape(1), n = B.shape(1);
        if (size_t(B.shape(0)) != k || size_t(C.shape(0)) != mm || size_t(C.shape(1)) != n)
          throw std::invalid_argument("z64_matmul: shapes do not chain");
        uint64_t* pc = mpcn::u64_mut(C);
        py::gil_scoped_release nogil;
        mpcn::z64::matmul(A.data(), B.data(), pc, mm, k, n);
      },
      py::arg("A").noconvert(), py::arg("B").noconvert(), py::arg("C").noconvert(),
      "C = A @ B over Z_2^64 (uint64, wrapping).");
}
