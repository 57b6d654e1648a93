// Half-gates garbling/evaluation and the GKWY tweakable circular-correlation-robust hash, with
// run-time dispatch between a VAES path (two AES blocks per instruction, 16 in flight) and an
// AES-NI path (8-16 blocks in flight). The AES rounds are the CPU's instructions.
//
// References: Guo, Katz, Wang, Yu, "Efficient and Secure Multiparty Computation from Fixed-Key
// Block Ciphers", IEEE S&P 2020, Section 7.3 (H(x, i) = pi(sigma(x) xor i) xor sigma(x), sigma a
// linear orthomorphism); Zahur, Rosulek, Evans, "Two Halves Make a Whole", EUROCRYPT 2015.
#include <algorithm>
#include <string>
#include <vector>

#include "mpcn/aes.hpp"
#include "mpcn/cpu.hpp"
#include "mpcn/gc.hpp"

namespace mpcn {

#ifdef MPCN_X86

namespace aesni_path {
#define GC_TARGET __attribute__((target("aes,sse4.1")))

struct Keys {
  __m128i rk[11];
  GC_TARGET explicit Keys(const uint8_t key[16]) {
    Aes128Schedule ks;
    aes128_expand(key, &ks);
    for (int r = 0; r < 11; ++r) rk[r] = ks.rk[r];
  }
};

// sigma(xL || xR) = (xL xor xR) || xL, with xL the high 64 bits of the block.
GC_TARGET static inline __m128i sigma(__m128i x) {
  return _mm_xor_si128(_mm_shuffle_epi32(x, 0x4E), _mm_and_si128(x, _mm_set_epi64x(-1, 0)));
}

template <int K>
GC_TARGET static inline void tccr(const Keys& k, __m128i* x, const __m128i* tw) {
  __m128i s[K], b[K];
  for (int j = 0; j < K; ++j) {
    s[j] = sigma(x[j]);
    b[j] = _mm_xor_si128(_mm_xor_si128(s[j], tw[j]), k.rk[0]);
  }
  for (int r = 1; r < 10; ++r)
    for (int j = 0; j < K; ++j) b[j] = _mm_aesenc_si128(b[j], k.rk[r]);
  for (int j = 0; j < K; ++j) x[j] = _mm_xor_si128(_mm_aesenclast_si128(b[j], k.rk[10]), s[j]);
}

#include "garble_body.inc"
#undef GC_TARGET
}  // namespace aesni_path

namespace vaes_path {
#define GC_TARGET __attribute__((target("vaes,avx2,aes,sse4.1")))

struct Keys {
  __m128i rk[11];
  __m256i rk2[11];
  GC_TARGET explicit Keys(const uint8_t key[16]) {
    Aes128Schedule ks;
    aes128_expand(key, &ks);
    for (int r = 0; r < 11; ++r) {
      rk[r] = ks.rk[r];
      rk2[r] = _mm256_broadcastsi128_si256(ks.rk[r]);
    }
  }
};

GC_TARGET static inline __m256i sigma2(__m256i x) {
  return _mm256_xor_si256(_mm256_shuffle_epi32(x, 0x4E), _mm256_and_si256(x, _mm256_set_epi64x(-1, 0, -1, 0)));
}
GC_TARGET static inline __m128i sigma(__m128i x) {
  return _mm_xor_si128(_mm_shuffle_epi32(x, 0x4E), _mm_and_si128(x, _mm_set_epi64x(-1, 0)));
}

// K blocks: K/2 through 256-bit VAES, an odd last one through 128-bit AES-NI.
template <int K>
GC_TARGET static inline void tccr(const Keys& k, __m128i* x, const __m128i* tw) {
  constexpr int M = K / 2;
  if constexpr (M > 0) {
    __m256i s[M], b[M];
    for (int j = 0; j < M; ++j) {
      s[j] = sigma2(_mm256_loadu_si256((const __m256i*)(x + 2 * j)));
      b[j] = _mm256_xor_si256(_mm256_xor_si256(s[j], _mm256_loadu_si256((const __m256i*)(tw + 2 * j))), k.rk2[0]);
    }
    for (int r = 1; r < 10; ++r)
      for (int j = 0; j < M; ++j) b[j] = _mm256_aesenc_epi128(b[j], k.rk2[r]);
    for (int j = 0; j < M; ++j)
      _mm256_storeu_si256((__m256i*)(x + 2 * j), _mm256_xor_si256(_mm256_aesenclast_epi128(b[j], k.rk2[10]), s[j]));
  }
  if constexpr (K % 2 == 1) {
    __m128i s = sigma(x[K - 1]);
    __m128i b = _mm_xor_si128(_mm_xor_si128(s, tw[K - 1]), k.rk[0]);
    for (int r = 1; r < 10; ++r) b = _mm_aesenc_si128(b, k.rk[r]);
    x[K - 1] = _mm_xor_si128(_mm_aesenclast_si128(b, k.rk[10]), s);
  }
}

#include "garble_body.inc"
#undef GC_TARGET
}  // namespace vaes_path

static Isa need_aes(const char* what) {
  Isa isa = active_isa();
  if (isa == Isa::Portable)
    throw UnsupportedCpuError(std::string(what) + " needs AES-NI, which this CPU lacks (or MPC_NATIVE_ISA=portable)");
  return isa;
}

void gc_garble(const GcPlan& plan, const uint8_t key[16], const uint8_t delta[16], size_t n_inst,
               uint64_t inst_offset, const uint8_t* in0, const uint8_t* const_rand, uint8_t* tables, uint8_t* out0,
               uint8_t* const_mat, uint8_t* wires) {
  if (need_aes("garbling") == Isa::Vaes)
    vaes_path::garble(plan, key, delta, n_inst, inst_offset, in0, const_rand, tables, out0, const_mat, wires);
  else
    aesni_path::garble(plan, key, delta, n_inst, inst_offset, in0, const_rand, tables, out0, const_mat, wires);
}

void gc_evaluate(const GcPlan& plan, const uint8_t key[16], size_t n_inst, uint64_t inst_offset, const uint8_t* in,
                 const uint8_t* tables, const uint8_t* const_mat, uint8_t* out, uint8_t* wires) {
  if (need_aes("garbled-circuit evaluation") == Isa::Vaes)
    vaes_path::evaluate(plan, key, n_inst, inst_offset, in, tables, const_mat, out, wires);
  else
    aesni_path::evaluate(plan, key, n_inst, inst_offset, in, tables, const_mat, out, wires);
}

void tccr_hash(const uint8_t key[16], const uint8_t* in, size_t n, uint64_t tweak_base, uint64_t domain,
               uint8_t* out) {
  if (need_aes("the TCCR hash") == Isa::Vaes)
    vaes_path::hash_blocks(key, in, nullptr, n, tweak_base, domain, out);
  else
    aesni_path::hash_blocks(key, in, nullptr, n, tweak_base, domain, out);
}

void tccr_hash_pair(const uint8_t key[16], const uint8_t* in, const uint8_t delta[16], size_t n,
                    uint64_t tweak_base, uint64_t domain, uint8_t* out) {
  if (need_aes("the TCCR hash") == Isa::Vaes)
    vaes_path::hash_blocks(key, in, delta, n, tweak_base, domain, out);
  else
    aesni_path::hash_blocks(key, in, delta, n, tweak_base, domain, out);
}

#else  // no AES instructions on this architecture

void gc_garble(const GcPlan&, const uint8_t*, const uint8_t*, size_t, uint64_t, const uint8_t*, const uint8_t*,
               uint8_t*, uint8_t*, uint8_t*, uint8_t*) {
  throw UnsupportedCpuError("garbling needs AES-NI (x86-64)");
}
void gc_evaluate(const GcPlan&, const uint8_t*, size_t, uint64_t, const uint8_t*, const uint8_t*, const uint8_t*,
                 uint8_t*, uint8_t*) {
  throw UnsupportedCpuError("garbled-circuit evaluation needs AES-NI (x86-64)");
}
void tccr_hash(const uint8_t*, const uint8_t*, size_t, uint64_t, uint64_t, uint8_t*) {
  throw UnsupportedCpuError("the TCCR hash needs AES-NI (x86-64)");
}
void tccr_hash_pair(const uint8_t*, const uint8_t*, const uint8_t*, size_t, uint64_t, uint64_t, uint8_t*) {
  throw UnsupportedCpuError("the TCCR hash needs AES-NI (x86-64)");
}

#endif

}  // namespace mpcn
