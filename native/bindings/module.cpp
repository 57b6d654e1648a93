// The extension module mpc._native. Each area registers its functions from its own file.
#include <pybind11/pybind11.h>

namespace py = pybind11;

void register_cpu(py::module_& m);
void register_prg(py::module_& m);
void register_field(py::module_& m);
void register_ring(py::module_& m);
void register_dpnoise(py::module_& m);
void register_dptable(py::module_& m);
void register_gc(py::module_& m);

PYBIND11_MODULE(_native, m) {
  m.doc() = "Native kernels of the MPC engine: AES-CTR PRG, GF(2^61-1) arithmetic.";
  register_cpu(m);
  register_prg(m);
  register_field(m);
  register_ring(m);
  register_dpnoise(m);
  register_dptable(m);
  register_gc(m);
}
