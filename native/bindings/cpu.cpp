#include <pybind11/pybind11.h>

#include "mpcn/cpu.hpp"

namespace py = pybind11;

void register_cpu(py::module_& m) {
  m.def("cpu_features", []() {
    const auto& f = mpcn::cpu_features();
    py::dict d;
    d["aesni"] = f.aesni;
    d["pclmul"] = f.pclmul;
    d["avx2"] = f.avx2;
    d["vaes"] = f.vaes;
    d["vpclmul"] = f.vpclmul;
    return d;
  }, "What the CPU supports (CPUID, with OS support for AVX state).");
  m.def("active_isa", []() { return mpcn::isa_name(mpcn::active_isa()); },
        "The ISA level the kernels use: 'vaes', 'aesni' or 'portable'.");
  m.def("set_isa_cap", [](const std::string& name) {
    if (name == "portable") mpcn::set_isa_cap(mpcn::Isa::Portable);
    else if (name == "aesni") mpcn::set_isa_cap(mpcn::Isa::AesNi);
    else if (name == "vaes") mpcn::set_isa_cap(mpcn::Isa::Vaes);
    else throw std::invalid_argument("ISA must be 'portable', 'aesni' or 'vaes', not '" + name + "'");
  }, "Cap the ISA level (for tests of the fallbacks); the CPU's own limit still applies.");
}
