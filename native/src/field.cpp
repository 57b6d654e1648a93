// GF(2^61 - 1) vector kernels. Plain C++: 64x64->128-bit products and Mersenne folding are fast
// on every 64-bit CPU, so no ISA dispatch is needed here.
#include "mpcn/field.hpp"

#include <vector>

namespace mpcn {
namespace gf61 {

uint64_t pow(uint64_t a, uint64_t e) {
  uint64_t r = 1;
  a = reduce64(a);
  while (e) {
    if (e & 1) r = mul(r, a);
    a = mul(a, a);
    e >>= 1;
  }
  return r;
}

void add_n(const uint64_t* a, const uint64_t* b, uint64_t* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = add(a[i], b[i]);
}
void sub_n(const uint64_t* a, const uint64_t* b, uint64_t* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = sub(a[i], b[i]);
}
void mul_n(const uint64_t* a, const uint64_t* b, uint64_t* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = mul(a[i], b[i]);
}
void neg_n(const uint64_t* a, uint64_t* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = neg(a[i]);
}
void scale_n(const uint64_t* a, uint64_t c, uint64_t* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = mul(a[i], c);
}
void reduce_n(const uint64_t* a, uint64_t* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = reduce64(a[i]);
}

void lincomb_n(const uint64_t* c, const uint64_t* const* x, size_t k, uint64_t* out, size_t n) {
  // Products are < 2^122, so up to 63 of them fit in 128 bits; fold every 32 terms.
  constexpr size_t BLK = 512;
  unsigned __int128 acc[BLK];
  for (size_t j0 = 0; j0 < n; j0 += BLK) {
    const size_t len = (n - j0 < BLK) ? n - j0 : BLK;
    for (size_t j = 0; j < len; ++j) acc[j] = 0;
    for (size_t p = 0; p < k; ++p) {
      const uint64_t cp = c[p];
      const uint64_t* xp = x[p] + j0;
      for (size_t j = 0; j < len; ++j) acc[j] += (unsigned __int128)cp * xp[j];
      if ((p & 31) == 31)
        for (size_t j = 0; j < len; ++j) acc[j] = reduce128(acc[j]);
    }
    for (size_t j = 0; j < len; ++j) out[j0 + j] = reduce128(acc[j]);
  }
}

void matmul(const uint64_t* A, const uint64_t* B, uint64_t* C, size_t m, size_t k, size_t n) {
  std::vector<const uint64_t*> rows(k);
  for (size_t p = 0; p < k; ++p) rows[p] = B + p * n;
  if (n >= 16) {
    // Each output row is a linear combination of the rows of B.
    for (size_t i = 0; i < m; ++i) lincomb_n(A + i * k, rows.data(), k, C + i * n, n);
    return;
  }
  // Narrow outputs (dot products, matrix-vector): accumulate along k.
  for (size_t i = 0; i < m; ++i) {
    for (size_t j = 0; j < n; ++j) {
      unsigned __int128 acc = 0;
      const uint64_t* a = A + i * k;
      for (size_t p = 0; p < k; ++p) {
        acc += (unsigned __int128)a[p] * B[p * n + j];
        if ((p & 31) == 31) acc = reduce128(acc);
      }
      C[i * n + j] = reduce128(acc);
    }
  }
}

long long inv_n(const uint64_t* a, uint64_t* out, size_t n) {
  if (n == 0) return -1;
  // Montgomery's trick: prefix products, one inversion, then walk back.
  uint64_t acc = 1;
  for (size_t i = 0; i < n; ++i) {
    if (reduce64(a[i]) == 0) return (long long)i;
    out[i] = acc;
    acc = mul(acc, reduce64(a[i]));
  }
  uint64_t inv_acc = inv(acc);
  for (size_t i = n; i-- > 0;) {
    const uint64_t ai = reduce64(a[i]);
    out[i] = mul(out[i], inv_acc);
    inv_acc = mul(inv_acc, ai);
  }
  return -1;
}

}  // namespace gf61
}  // namespace mpcn
