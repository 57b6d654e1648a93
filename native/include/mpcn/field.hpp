// Arithmetic in GF(p), p = 2^61 - 1 (a Mersenne prime): reduction is a shift and an add.
// Elements are uint64 in [0, p). Products use 128-bit integers.
#pragma once
#include <cstddef>
#include <cstdint>

namespace mpcn {
namespace gf61 {

constexpr uint64_t P = (uint64_t(1) << 61) - 1;

inline uint64_t reduce64(uint64_t x) {  // any 64-bit x -> [0, p)
  x = (x & P) + (x >> 61);
  return x >= P ? x - P : x;
}
inline uint64_t reduce128(unsigned __int128 z) {  // any 128-bit z -> [0, p)
  unsigned __int128 t = (z & P) + (z >> 61);         // < 2^67 + 2^61
  uint64_t s = uint64_t(t & P) + uint64_t(t >> 61);  // < 2^61 + 2^7 < 2p
  return s >= P ? s - P : s;
}
inline uint64_t add(uint64_t a, uint64_t b) {
  uint64_t s = a + b;
  return s >= P ? s - P : s;
}
inline uint64_t sub(uint64_t a, uint64_t b) { return a >= b ? a - b : a + P - b; }
inline uint64_t neg(uint64_t a) { return a == 0 ? 0 : P - a; }
// a, b in [0, p): z = a*b < (p-1)^2, so (z mod 2^61) + (z >> 61) < 2p and one subtraction
// finishes the reduction.
inline uint64_t mul(uint64_t a, uint64_t b) {
  unsigned __int128 z = (unsigned __int128)a * b;
  uint64_t lo = uint64_t(z), hi = uint64_t(z >> 64);
  uint64_t s = (lo & P) + ((lo >> 61) | (hi << 3));
  return s >= P ? s - P : s;
}
uint64_t pow(uint64_t a, uint64_t e);
inline uint64_t inv(uint64_t a) { return pow(a, P - 2); }

// Vector kernels over n elements (out may alias an input).
void add_n(const uint64_t* a, const uint64_t* b, uint64_t* out, size_t n);
void sub_n(const uint64_t* a, const uint64_t* b, uint64_t* out, size_t n);
void mul_n(const uint64_t* a, const uint64_t* b, uint64_t* out, size_t n);
void neg_n(const uint64_t* a, uint64_t* out, size_t n);
void scale_n(const uint64_t* a, uint64_t c, uint64_t* out, size_t n);
void reduce_n(const uint64_t* a, uint64_t* out, size_t n);
// out[r][i] = sum_p A[r][p] * x[p][i] for r < m (A row-major m x k, reduced); one pass over x.
void lincomb_rows(const uint64_t* A, size_t m, size_t k, const uint64_t* const* x, uint64_t* const* out,
                  size_t n);
// out = sum_k c[k] * x[k][i]
void lincomb_n(const uint64_t* c, const uint64_t* const* x, size_t k, uint64_t* out, size_t n);
// C (m x n) = A (m x k) @ B (k x n), row-major.
void matmul(const uint64_t* A, const uint64_t* B, uint64_t* C, size_t m, size_t k, size_t n);
// out[i] = a[i]^-1 (batch inversion, 3 products per element). Returns the index of the first
// zero element, or -1 when all are invertible (out is then complete).
long long inv_n(const uint64_t* a, uint64_t* out, size_t n);

}  // namespace gf61
}  // namespace mpcn
