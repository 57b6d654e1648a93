// Python binding of the table-based discrete Gaussian sampler (mpcn/dptable.hpp). Words come from
// a Python refill callable (mpc.crypto.PRG.uint64), as for the exact samplers (dpnoise.cpp).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <stdexcept>

#include "mpcn/dptable.hpp"

namespace py = pybind11;
namespace dt = mpcn::dptable;

namespace {

using I64Array = py::array_t<int64_t, py::array::c_style>;
using U64In = py::array_t<uint64_t, py::array::c_style | py::array::forcecast>;
using U32In = py::array_t<uint32_t, py::array::c_style | py::array::forcecast>;

class Words {
 public:
  Words(py::function refill, size_t chunk) : refill_(std::move(refill)), chunk_(chunk ? chunk : 1) {}
  inline uint64_t next() {
    if (pos_ == len_) fill();
    return ptr_[pos_++];
  }

 private:
  void fill() {
    py::gil_scoped_acquire gil;
    py::object got = refill_(chunk_);
    U64In arr = got.cast<U64In>();
    if (arr.ndim() != 1 || size_t(arr.size()) != chunk_)
      throw std::invalid_argument("refill(n) must return a 1-D uint64 array of n words");
    buf_ = arr;
    ptr_ = buf_.data();
    len_ = size_t(buf_.size());
    pos_ = 0;
  }
  py::function refill_;
  size_t chunk_;
  U64In buf_;
  const uint64_t* ptr_ = nullptr;
  size_t len_ = 0, pos_ = 0;
};

}  // namespace

void register_dptable(py::module_& m) {
  m.def(
      "dp_table_gaussian",
      [](py::function refill, size_t chunk, U64In hi, U64In lo, U32In guide, int guide_bits, int width_bits,
         uint64_t a, uint64_t b, I64Array out) {
        if (hi.ndim() != 1 || lo.ndim() != 1 || hi.size() != lo.size() || hi.size() < 1)
          throw std::invalid_argument("hi and lo must be 1-D of the same positive length");
        if (guide_bits < 1 || guide_bits > 20 || guide.size() != (py::ssize_t(1) << guide_bits))
          throw std::invalid_argument("guide must have 2^guide_bits entries, 1 <= guide_bits <= 20");
        if (width_bits < 0 || width_bits > 40) throw std::invalid_argument("width_bits must be in [0, 40]");
        if (a == 0 || b == 0 || a >= (uint64_t(1) << 63)) throw std::invalid_argument("need 0 < a < 2^63 and b > 0");
        if (!out.writeable()) throw std::invalid_argument("output array is read-only");
        const uint32_t* g = guide.data();
        for (py::ssize_t i = 0; i < guide.size(); ++i)
          if (g[i] >= uint32_t(hi.size())) throw std::invalid_argument("guide entry out of range");
        dt::Table t{hi.data(), lo.data(), g, size_t(hi.size()), guide_bits, width_bits, a, b, 2 * a};
        int64_t* p = out.mutable_data();
        size_t n = size_t(out.size());
        Words words(std::move(refill), chunk);
        dt::BitPool<Words> bits(words);
        py::gil_scoped_release nogil;
        for (size_t i = 0; i < n; ++i) p[i] = dt::sample(bits, t);
      },
      py::arg("refill"), py::arg("chunk"), py::arg("hi"), py::arg("lo"), py::arg("guide"), py::arg("guide_bits"),
      py::arg("width_bits"), py::arg("a"), py::arg("b"), py::arg("out"),
      "Fill `out` with discrete Gaussian N_Z(0, a/b) samples from a 128-bit bin table and exact in-bin rejection.");
}
