// pybind11 glue for the garbled-circuit and OT-extension kernels (mpc.gc.kernel and mpc.ot wrap
// these with the user-facing checks; here only the native boundary is guarded).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "mpcn/gc.hpp"

namespace py = pybind11;
using mpcn::GcPlan;

namespace {

// A C-contiguous buffer of exactly `nbytes` bytes (any dtype).
uint8_t* raw(const py::array& a, size_t nbytes, const char* what, bool writable) {
  if (!(a.flags() & py::array::c_style)) throw std::invalid_argument(std::string(what) + ": array must be C-contiguous");
  if (size_t(a.nbytes()) != nbytes)
    throw std::invalid_argument(std::string(what) + ": " + std::to_string(a.nbytes()) + " bytes, expected " +
                                std::to_string(nbytes));
  if (writable && !a.writeable()) throw std::invalid_argument(std::string(what) + ": array is read-only");
  return (uint8_t*)a.data();
}

const uint8_t* key16(const py::bytes& b, std::string& hold, const char* what) {
  hold = b;
  if (hold.size() != 16) throw std::invalid_argument(std::string(what) + " must be 16 bytes");
  return (const uint8_t*)hold.data();
}

template <class T>
py::array_t<T> vec(const std::vector<T>& v) {
  return py::array_t<T>(py::ssize_t(v.size()), v.data());
}

}  // namespace

void register_gc(py::module_& m) {
  py::register_exception<mpcn::UnsupportedCpuError>(m, "UnsupportedCpuError", PyExc_RuntimeError);

  py::class_<GcPlan>(m, "GcPlan", "A circuit scheduled for the garbling kernels (see mpcn/gc.hpp).")
      .def_property_readonly("n_slots", [](const GcPlan& p) { return p.n_slots; })
      .def_property_readonly("n_and", [](const GcPlan& p) { return p.n_and; })
      .def_property_readonly("n_const", [](const GcPlan& p) { return p.n_const; })
      .def_property_readonly("n_in", [](const GcPlan& p) { return p.in_slots.size(); })
      .def_property_readonly("n_out", [](const GcPlan& p) { return p.out_slots.size(); })
      .def_property_readonly("n_gates", [](const GcPlan& p) { return p.op.size(); })
      .def_property_readonly("n_runs", [](const GcPlan& p) { return p.runs.size() / 2; })
      .def_property_readonly("runs", [](const GcPlan& p) { return vec(p.runs); })
      .def_property_readonly("in_slots", [](const GcPlan& p) { return vec(p.in_slots); })
      .def_property_readonly("out_slots", [](const GcPlan& p) { return vec(p.out_slots); });

  m.def(
      "gc_compile",
      [](py::array_t<uint8_t, py::array::c_style> op, py::array_t<int32_t, py::array::c_style> a,
         py::array_t<int32_t, py::array::c_style> b, py::array_t<int32_t, py::array::c_style> c, size_t n_wires,
         size_t n_in, size_t n_out, bool reuse) {
        size_t n = size_t(op.size());
        if (size_t(a.size()) != n || size_t(b.size()) != n || size_t(c.size()) != n)
          throw std::invalid_argument("gc_compile: gate arrays differ in length");
        if (n_in > n_wires || n_out > n_wires) throw std::invalid_argument("gc_compile: bad wire counts");
        py::gil_scoped_release nogil;
        return mpcn::gc_compile(op.data(), a.data(), b.data(), c.data(), n, n_wires, n_in, n_out, reuse);
      },
      py::arg("op"), py::arg("a"), py::arg("b"), py::arg("c"), py::arg("n_wires"), py::arg("n_in"), py::arg("n_out"),
      py::arg("reuse") = true, "Schedule a validated circuit (mpc.gc.bristol arrays) for garbling.");

  m.def(
      "gc_garble",
      [](const GcPlan& plan, py::bytes key, py::bytes delta, size_t n_inst, uint64_t inst_offset, py::array in0,
         py::array const_rand, py::array tables, py::array out0, py::array const_mat, py::object wires) {
        std::string hk, hd;
        const uint8_t* k = key16(key, hk, "key");
        const uint8_t* d = key16(delta, hd, "delta");
        if (!(d[0] & 1)) throw std::invalid_argument("delta must have its least significant bit set");
        const uint8_t* pin = raw(in0, 16 * n_inst * plan.in_slots.size(), "input labels", false);
        const uint8_t* pcr = raw(const_rand, 16 * n_inst * plan.n_const, "constant labels", false);
        uint8_t* pt = raw(tables, 32 * n_inst * plan.n_and, "tables", true);
        uint8_t* po = raw(out0, 16 * n_inst * plan.out_slots.size(), "output labels", true);
        uint8_t* pc = raw(const_mat, 16 * n_inst * plan.n_const, "constant material", true);
        uint8_t* pw = nullptr;
        if (!wires.is_none()) pw = raw(wires.cast<py::array>(), 16 * n_inst * plan.n_slots, "wires", true);
        py::gil_scoped_release nogil;
        mpcn::gc_garble(plan, k, d, n_inst, inst_offset, pin, pcr, pt, po, pc, pw);
      },
      py::arg("plan"), py::arg("key"), py::arg("delta"), py::arg("n_inst"), py::arg("inst_offset"), py::arg("in0"),
      py::arg("const_rand"), py::arg("tables"), py::arg("out0"), py::arg("const_mat"), py::arg("wires") = py::none(),
      "Garble n_inst instances (half-gates, free-XOR); fills tables, out0, const_mat (and wires).");

  m.def(
      "gc_evaluate",
      [](const GcPlan& plan, py::bytes key, size_t n_inst, uint64_t inst_offset, py::array in, py::array tables,
         py::array const_mat, py::array out, py::object wires) {
        std::string hk;
        const uint8_t* k = key16(key, hk, "key");
        const uint8_t* pin = raw(in, 16 * n_inst * plan.in_slots.size(), "input labels", false);
        const uint8_t* pt = raw(tables, 32 * n_inst * plan.n_and, "tables", false);
        const uint8_t* pc = raw(const_mat, 16 * n_inst * plan.n_const, "constant material", false);
        uint8_t* po = raw(out, 16 * n_inst * plan.out_slots.size(), "output labels", true);
        uint8_t* pw = nullptr;
        if (!wires.is_none()) pw = raw(wires.cast<py::array>(), 16 * n_inst * plan.n_slots, "wires", true);
        py::gil_scoped_release nogil;
        mpcn::gc_evaluate(plan, k, n_inst, inst_offset, pin, pt, pc, po, pw);
      },
      py::arg("plan"), py::arg("key"), py::arg("n_inst"), py::arg("inst_offset"), py::arg("labels"), py::arg("tables"),
      py::arg("const_mat"), py::arg("out"), py::arg("wires") = py::none(),
      "Evaluate n_inst garbled instances from their active input labels; fills out (and wires).");

  m.def(
      "tccr_hash",
      [](py::bytes key, py::array in, uint64_t tweak_base, uint64_t domain, py::array out) {
        std::string hk;
        const uint8_t* k = key16(key, hk, "key");
        size_t n = size_t(in.nbytes()) / 16;
        const uint8_t* pi = raw(in, 16 * n, "input", false);
        uint8_t* po = raw(out, 16 * n, "output", true);
        py::gil_scoped_release nogil;
        mpcn::tccr_hash(k, pi, n, tweak_base, domain, po);
      },
      py::arg("key"), py::arg("blocks"), py::arg("tweak_base"), py::arg("domain"), py::arg("out"),
      "out[j] = H(blocks[j], (domain, tweak_base + j)), the GKWY20 TCCR hash under fixed-key AES.");

  m.def(
      "tccr_hash_pair",
      [](py::bytes key, py::array in, py::bytes delta, uint64_t tweak_base, uint64_t domain, py::array out) {
        std::string hk, hd;
        const uint8_t* k = key16(key, hk, "key");
        const uint8_t* d = key16(delta, hd, "delta");
        size_t n = size_t(in.nbytes()) / 16;
        const uint8_t* pi = raw(in, 16 * n, "input", false);
        uint8_t* po = raw(out, 32 * n, "output", true);
        py::gil_scoped_release nogil;
        mpcn::tccr_hash_pair(k, pi, d, n, tweak_base, domain, po);
      },
      py::arg("key"), py::arg("blocks"), py::arg("delta"), py::arg("tweak_base"), py::arg("domain"), py::arg("out"),
      "out[j] = (H(x_j, t_j), H(x_j xor delta, t_j)) with t_j = (domain, tweak_base + j).");

  m.def(
      "bit_transpose_128",
      [](py::array in, size_t m_bits, py::array out) {
        const uint8_t* pi = raw(in, 16 * m_bits, "input", false);
        uint8_t* po = raw(out, 16 * m_bits, "output", true);
        if (m_bits % 128) throw std::invalid_argument("m must be a multiple of 128");
        py::gil_scoped_release nogil;
        mpcn::bit_transpose_128(pi, m_bits, po);
      },
      py::arg("matrix"), py::arg("m"), py::arg("out"), "Transpose a 128 x m bit matrix into m rows of 16 bytes.");

  m.def(
      "iknp_receiver_extend",
      [](py::array k0, py::array k1, py::array r, size_t m_ots, uint64_t ctr, py::array u, py::array t) {
        if (m_ots % 128) throw std::invalid_argument("m must be a multiple of 128");
        const uint8_t* p0 = raw(k0, 128 * 16, "k0", false);
        const uint8_t* p1 = raw(k1, 128 * 16, "k1", false);
        const uint8_t* pr = raw(r, m_ots / 8, "choices", false);
        uint8_t* pu = raw(u, 16 * m_ots, "u", true);
        uint8_t* pt = raw(t, 16 * m_ots, "t", true);
        py::gil_scoped_release nogil;
        mpcn::iknp_receiver_extend(p0, p1, pr, m_ots, ctr, pu, pt);
      },
      py::arg("k0"), py::arg("k1"), py::arg("choices"), py::arg("m"), py::arg("ctr"), py::arg("u"), py::arg("t"),
      "IKNP receiver: the u matrix (128 x m bits) and its own rows t (m x 16 bytes).");

  m.def(
      "iknp_sender_extend",
      [](py::array ks, py::bytes s, py::array u, size_t m_ots, uint64_t ctr, py::array q) {
        if (m_ots % 128) throw std::invalid_argument("m must be a multiple of 128");
        std::string hs;
        const uint8_t* ps = key16(s, hs, "s");
        const uint8_t* pk = raw(ks, 128 * 16, "keys", false);
        const uint8_t* pu = raw(u, 16 * m_ots, "u", false);
        uint8_t* pq = raw(q, 16 * m_ots, "q", true);
        py::gil_scoped_release nogil;
        mpcn::iknp_sender_extend(pk, ps, pu, m_ots, ctr, pq);
      },
      py::arg("keys"), py::arg("s"), py::arg("u"), py::arg("m"), py::arg("ctr"), py::arg("q"),
      "IKNP sender: rows q_j = t_j xor r_j * s (m x 16 bytes).");
}
