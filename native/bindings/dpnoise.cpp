// Python bindings of the exact DP samplers (mpcn/dpnoise.hpp). Uniform words come from a Python
// callable `refill(n) -> numpy.uint64[n]` (mpc.crypto.PRG.uint64), called with the GIL held
// whenever the buffer runs dry, so the samples depend only on the PRG stream.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "mpcn/dpnoise.hpp"

namespace py = pybind11;
namespace dn = mpcn::dpnoise;

namespace {

using I64Array = py::array_t<int64_t, py::array::c_style>;
using U64In = py::array_t<uint64_t, py::array::c_style>;
using U8Array = py::array_t<uint8_t, py::array::c_style>;

class PyWords {
 public:
  PyWords(py::function refill, size_t chunk) : refill_(std::move(refill)), chunk_(chunk ? chunk : 1) {}
  inline uint64_t next() {
    if (pos_ == len_) fill();
    return ptr_[pos_++];
  }
  uint64_t words_used() const { return used_ + pos_; }

 private:
  void fill() {
    py::gil_scoped_acquire gil;
    py::object got = refill_(chunk_);
    if (!py::isinstance<U64In>(got)) throw std::invalid_argument("refill must return a numpy uint64 array");
    U64In arr = got.cast<U64In>();
    if (arr.ndim() != 1 || size_t(arr.size()) != chunk_)
      throw std::invalid_argument("refill(n) must return a 1-D uint64 array of n words");
    used_ += len_;
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
  uint64_t used_ = 0;
};

template <class F>
void fill_samples(py::function refill, size_t chunk, I64Array out, F draw) {
  if (!out.writeable()) throw std::invalid_argument("output array is read-only");
  int64_t* p = out.mutable_data();
  size_t n = size_t(out.size());
  PyWords words(std::move(refill), chunk);
  {
    py::gil_scoped_release nogil;
    for (size_t i = 0; i < n; ++i) p[i] = draw(words);
  }
}

void check_positive(uint64_t v, const char* what) {
  if (v == 0) throw std::invalid_argument(std::string(what) + " must be positive");
}

}  // namespace

void register_dpnoise(py::module_& m) {
  m.def(
      "dp_discrete_laplace",
      [](py::function refill, size_t chunk, uint64_t s, uint64_t t, I64Array out) {
        check_positive(s, "s");
        check_positive(t, "t");
        fill_samples(std::move(refill), chunk, out, [=](PyWords& w) { return dn::discrete_laplace(w, s, t); });
      },
      py::arg("refill"), py::arg("chunk"), py::arg("s"), py::arg("t"), py::arg("out"),
      "Fill `out` with exact discrete Laplace samples of scale t/s (CKS20 Algorithm 2).");
  m.def(
      "dp_discrete_gaussian",
      [](py::function refill, size_t chunk, uint64_t a, uint64_t b, uint64_t c, I64Array out) {
        check_positive(a, "a");
        check_positive(b, "b");
        fill_samples(std::move(refill), chunk, out, [=](PyWords& w) { return dn::discrete_gaussian(w, a, b, c); });
      },
      py::arg("refill"), py::arg("chunk"), py::arg("a"), py::arg("b"), py::arg("c"), py::arg("out"),
      "Fill `out` with exact discrete Gaussian samples N_Z(0, a/b) (CKS20 Algorithm 3); c = floor(sqrt(a/b)).");
  m.def(
      "dp_bernoulli_exp",
      [](py::function refill, size_t chunk, U64In num, uint64_t den, U8Array out) {
        check_positive(den, "den");
        if (num.size() != out.size()) throw std::invalid_argument("num and out differ in size");
        if (!out.writeable()) throw std::invalid_argument("output array is read-only");
        const uint64_t* pn = num.data();
        uint8_t* po = out.mutable_data();
        size_t n = size_t(out.size());
        PyWords words(std::move(refill), chunk);
        py::gil_scoped_release nogil;
        for (size_t i = 0; i < n; ++i) po[i] = dn::bernoulli_exp(words, pn[i], den) ? 1 : 0;
      },
      py::arg("refill"), py::arg("chunk"), py::arg("num"), py::arg("den"), py::arg("out"),
      "out[i] = Bernoulli(exp(-num[i]/den)), exactly (CKS20 Algorithm 1).");
}
