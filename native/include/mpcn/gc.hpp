// Garbled circuits (free-XOR, half-gates, point-and-permute) and the fixed-key AES hash they use.
//
// Hash: the tweakable circular-correlation-robust hash of Guo, Katz, Wang, Yu, "Efficient and
// Secure Multiparty Computation from Fixed-Key Block Ciphers", IEEE S&P 2020, Section 7.3:
//     H(x, i) = pi(sigma(x) xor i) xor sigma(x),
// pi = AES-128 under a fixed (public, per-run) key, sigma(xL || xR) = (xL xor xR) || xL a linear
// orthomorphism, i a 128-bit tweak (the gate index). Plain pi(x xor i) is not enough (GKWY
// Section 4 shows attacks on such hashes in the multi-instance setting).
// Half-gates: Zahur, Rosulek, Evans, "Two Halves Make a Whole", EUROCRYPT 2015, Figure 2.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace mpcn {

// Gate codes of a compiled plan (the Bristol codes of mpc/gc/bristol.py, EQ split by constant).
enum GcOp : uint8_t { kXor = 0, kAnd = 1, kInv = 2, kCopy = 3, kConst0 = 4, kConst1 = 5 };

// Hash domains (the high 64 bits of the tweak): gates, output decoding, OT extension.
constexpr uint64_t kDomainGate = 0, kDomainOutput = 1, kDomainOt = 2;

// A circuit scheduled for garbling: gates sorted by AND depth (each level's ANDs first, as one
// run of independent gates, then its other gates in their original order), wires mapped to
// label slots (reused once a wire is dead when `reuse` is set).
struct GcPlan {
  std::vector<uint8_t> op;
  std::vector<int32_t> a, b, c;      // slots (a = the constant for kConst*, b = -1 for one input)
  std::vector<int32_t> runs;         // [start, end) pairs of schedule positions of AND runs
  std::vector<int32_t> in_slots;     // slot of each input wire
  std::vector<int32_t> out_slots;    // slot of each output wire
  size_t n_slots = 0, n_and = 0, n_const = 0;
};

class UnsupportedCpuError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bristol arrays (codes XOR=0 AND=1 INV=2 EQW=3 EQ=4, EQ's constant in a) to a plan.
// The arrays must be validated already (mpc.gc.bristol does it).
GcPlan gc_compile(const uint8_t* op, const int32_t* a, const int32_t* b, const int32_t* c, size_t n_gates,
                  size_t n_wires, size_t n_in, size_t n_out, bool reuse);

// Garble n_inst instances (instances inst_offset .. inst_offset+n_inst-1 of the run: the offset
// keeps tweaks unique across calls). Labels are 16-byte blocks; arrays are instance-major:
// in0[n_inst][n_in] zero-labels of the inputs, const_rand[n_inst][n_const] random labels for
// constant gates; outputs tables[n_inst][n_and][2] (32 bytes per AND), out0[n_inst][n_out],
// const_mat[n_inst][n_const] (the active label of each constant), wires (optional, may be null)
// [n_inst][n_slots]. delta has lsb 1. Throws UnsupportedCpuError without AES-NI.
void gc_garble(const GcPlan& plan, const uint8_t key[16], const uint8_t delta[16], size_t n_inst,
               uint64_t inst_offset, const uint8_t* in0, const uint8_t* const_rand, uint8_t* tables, uint8_t* out0,
               uint8_t* const_mat, uint8_t* wires);

// Evaluate with active labels in[n_inst][n_in]; writes out[n_inst][n_out] (and wires if not null).
void gc_evaluate(const GcPlan& plan, const uint8_t key[16], size_t n_inst, uint64_t inst_offset, const uint8_t* in,
                 const uint8_t* tables, const uint8_t* const_mat, uint8_t* out, uint8_t* wires);

// out[j] = H(in[j], (domain, tweak_base + j)) for n blocks.
void tccr_hash(const uint8_t key[16], const uint8_t* in, size_t n, uint64_t tweak_base, uint64_t domain,
               uint8_t* out);

// out[j][0] = H(in[j], t_j), out[j][1] = H(in[j] xor delta, t_j), t_j = (domain, tweak_base + j).
void tccr_hash_pair(const uint8_t key[16], const uint8_t* in, const uint8_t delta[16], size_t n,
                    uint64_t tweak_base, uint64_t domain, uint8_t* out);

// Transpose a 128 x m bit matrix (128 rows of m/8 bytes, bit j of a row = bit j%8 of byte j/8)
// into m rows of 16 bytes. m must be a multiple of 128.
void bit_transpose_128(const uint8_t* in, size_t m, uint8_t* out);

// IKNP (semi-honest) for m OTs (m a multiple of 128), counter blocks from ctr_offset:
// receiver: t_i = G(k0_i), u_i = t_i xor G(k1_i) xor r (columns); writes u[128][m/8] and the
// transposed rows t[m][16]. Sender: q_i = G(ks_i) xor s_i * u_i; writes rows q[m][16].
void iknp_receiver_extend(const uint8_t* k0, const uint8_t* k1, const uint8_t* r, size_t m, uint64_t ctr_offset,
                          uint8_t* u, uint8_t* t_rows);
void iknp_sender_extend(const uint8_t* ks, const uint8_t s[16], const uint8_t* u, size_t m, uint64_t ctr_offset,
                        uint8_t* q_rows);

}  // namespace mpcn
