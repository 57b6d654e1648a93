#include <pybind11/pybind11.h>

#include <stdexcept>

#include "mpcn/aes.hpp"
#include "mpcn/pyarray.hpp"

namespace py = pybind11;

void register_prg(py::module_& m) {
  m.def(
      "aes128_ctr_fill",
      [](py::bytes key, uint64_t start_block, py::buffer out) -> bool {
        std::string k = key;
        if (k.size() != 16) throw std::invalid_argument("AES-128 key must be 16 bytes");
        py::buffer_info info = out.request(true);
        if (info.readonly) throw std::invalid_argument("output buffer is read-only");
        if (info.ndim != 1 && !(PyBuffer_IsContiguous(info.view(), 'C')))
          throw std::invalid_argument("output buffer must be C-contiguous");
        size_t nbytes = size_t(info.size) * size_t(info.itemsize);
        bool ok;
        {
          py::gil_scoped_release nogil;
          ok = mpcn::aes128_ctr_fill((const uint8_t*)k.data(), start_block, (uint8_t*)info.ptr, nbytes);
        }
        return ok;
      },
      py::arg("key"), py::arg("start_block"), py::arg("out"),
      "Fill `out` with the AES-128-CTR keystream starting at counter block `start_block`.\n"
      "Returns False (and writes nothing) when the CPU has no AES instructions.");
  m.def(
      "aes128_ecb_encrypt",
      [](py::bytes key, py::bytes data) -> py::object {
        std::string k = key, d = data;
        if (k.size() != 16) throw std::invalid_argument("AES-128 key must be 16 bytes");
        if (d.size() % 16) throw std::invalid_argument("data must be a whole number of 16-byte blocks");
        std::string out(d.size(), '\0');
        if (!mpcn::aes128_ecb_encrypt((const uint8_t*)k.data(), (const uint8_t*)d.data(), (uint8_t*)&out[0],
                                      d.size() / 16))
          return py::none();
        return py::bytes(out);
      },
      py::arg("key"), py::arg("data"), "AES-128-ECB encryption (known-answer tests); None without AES-NI.");
}
