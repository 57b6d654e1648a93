#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <vector>

#include "mpcn/field.hpp"
#include "mpcn/pyarray.hpp"

namespace py = pybind11;
using mpcn::U64Array;
namespace gf = mpcn::gf61;

namespace {

template <typename F>
void binary(const char* name, U64Array a, U64Array b, U64Array out, F f) {
  mpcn::require_same_size(a, b, name);
  mpcn::require_same_size(a, out, name);
  const uint64_t* pa = a.data();
  const uint64_t* pb = b.data();
  uint64_t* po = mpcn::u64_mut(out);
  size_t n = size_t(a.size());
  if (n >= mpcn::kReleaseGil) {
    py::gil_scoped_release nogil;
    f(pa, pb, po, n);
  } else {
    f(pa, pb, po, n);
  }
}

}  // namespace

void register_field(py::module_& m) {
  m.attr("GF61_P") = py::int_(gf::P);
  m.def("gf61_add", [](U64Array a, U64Array b, U64Array out) { binary("gf61_add", a, b, out, gf::add_n); },
        py::arg("a").noconvert(), py::arg("b").noconvert(), py::arg("out").noconvert());
  m.def("gf61_sub", [](U64Array a, U64Array b, U64Array out) { binary("gf61_sub", a, b, out, gf::sub_n); },
        py::arg("a").noconvert(), py::arg("b").noconvert(), py::arg("out").noconvert());
  m.def("gf61_mul", [](U64Array a, U64Array b, U64Array out) { binary("gf61_mul", a, b, out, gf::mul_n); },
        py::arg("a").noconvert(), py::arg("b").noconvert(), py::arg("out").noconvert());
  m.def(
      "gf61_neg",
      [](U64Array a, U64Array out) {
        mpcn::require_same_size(a, out, "gf61_neg");
        uint64_t* po = mpcn::u64_mut(out);
        py::gil_scoped_release nogil;
        gf::neg_n(a.data(), po, size_t(a.size()));
      },
      py::arg("a").noconvert(), py::arg("out").noconvert());
  m.def(
      "gf61_scale",
      [](U64Array a, uint64_t c, U64Array out) {
        mpcn::require_same_size(a, out, "gf61_scale");
        c = gf::reduce64(c);
        uint64_t* po = mpcn::u64_mut(out);
        py::gil_scoped_release nogil;
        gf::scale_n(a.data(), c, po, size_t(a.size()));
      },
      py::arg("a").noconvert(), py::arg("c"), py::arg("out").noconvert());
  m.def(
      "gf61_reduce",
      [](U64Array a, U64Array out) {
        mpcn::require_same_size(a, out, "gf61_reduce");
        uint64_t* po = mpcn::u64_mut(out);
        py::gil_scoped_release nogil;
        gf::reduce_n(a.data(), po, size_t(a.size()));
      },
      py::arg("a").noconvert(), py::arg("out").noconvert());
  m.def(
      "gf61_lincomb",
      [](std::vector<uint64_t> coeffs, std::vector<U64Array> xs, U64Array out) {
        if (coeffs.size() != xs.size()) throw std::invalid_argument("gf61_lincomb: coefficient/array count mismatch");
        std::vector<const uint64_t*> ptrs;
        for (auto& c : coeffs) c = gf::reduce64(c);
        for (auto& x : xs) {
          mpcn::require_same_size(x, out, "gf61_lincomb");
          ptrs.push_back(x.data());
        }
        uint64_t* po = mpcn::u64_mut(out);
        py::gil_scoped_release nogil;
        gf::lincomb_n(coeffs.data(), ptrs.data(), ptrs.size(), po, size_t(out.size()));
      },
      py::arg("coeffs"), py::arg("arrays"), py::arg("out").noconvert(),
      "out = sum_k coeffs[k] * arrays[k] over GF(2^61-1).");
  m.def(
      "gf61_lincomb_rows",
      [](std::vector<std::vector<uint64_t>> A, std::vector<U64Array> xs, std::vector<U64Array> outs) {
        const size_t m = A.size(), k = xs.size();
        if (outs.size() != m) throw std::invalid_argument("gf61_lincomb_rows: one output per coefficient row");
        std::vector<uint64_t> flat;
        for (auto& row : A) {
          if (row.size() != k) throw std::invalid_argument("gf61_lincomb_rows: each row needs one coefficient per input");
          for (auto c : row) flat.push_back(gf::reduce64(c));
        }
        if (k == 0 || m == 0) throw std::invalid_argument("gf61_lincomb_rows: empty");
        const size_t n = size_t(xs[0].size());
        std::vector<const uint64_t*> in;
        std::vector<uint64_t*> out;
        for (auto& x : xs) {
          if (size_t(x.size()) != n) throw std::invalid_argument("gf61_lincomb_rows: inputs differ in size");
          in.push_back(x.data());
        }
        for (auto& o : outs) {
          if (size_t(o.size()) != n) throw std::invalid_argument("gf61_lincomb_rows: outputs differ in size");
          out.push_back(mpcn::u64_mut(o));
        }
        py::gil_scoped_release nogil;
        gf::lincomb_rows(flat.data(), m, k, in.data(), out.data(), n);
      },
      py::arg("coeffs"), py::arg("arrays"), py::arg("outs"),
      "outs[r] = sum_p coeffs[r][p] * arrays[p] over GF(2^61-1), reading the inputs once.");
  m.def(
      "gf61_matmul",
      [](U64Array A, U64Array B, U64Array C) {
        if (A.ndim() != 2 || B.ndim() != 2 || C.ndim() != 2) throw std::invalid_argument("gf61_matmul: 2-D arrays");
        size_t mm = A.shape(0), k = A.shape(1), n = B.shape(1);
        if (size_t(B.shape(0)) != k || size_t(C.shape(0)) != mm || size_t(C.shape(1)) != n)
          throw std::invalid_argument("gf61_matmul: shapes do not chain");
        uint64_t* pc = mpcn::u64_mut(C);
        py::gil_scoped_release nogil;
        gf::matmul(A.data(), B.data(), pc, mm, k, n);
      },
      py::arg("A").noconvert(), py::arg("B").noconvert(), py::arg("C").noconvert());
  m.def(
      "gf61_inv",
      [](U64Array a, U64Array out) -> long long {
        mpcn::require_same_size(a, out, "gf61_inv");
        uint64_t* po = mpcn::u64_mut(out);
        py::gil_scoped_release nogil;
        return gf::inv_n(a.data(), po, size_t(a.size()));
      },
      py::arg("a").noconvert(), py::arg("out").noconvert(),
      "Batch inversion; returns the index of the first zero element, or -1 on success.");
  m.def("gf61_pow", [](uint64_t a, uint64_t e) { return gf::pow(a, e); });
}
