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

namespace {

// At most 7 reduced products fit in 64 bits, so each output element is one register
// accumulation and one fold.
template <int K>
void lincomb_small(const uint64_t* A, size_t m, const uint64_t* const* x, uint64_t* const* out, size_t n) {
  const uint64_t* xs[K];
  for (int p = 0; p < K; ++p) xs[p] = x[p];
  constexpr size_t BLK = 512;
  for (size_t i = 0; i < m; ++i) {
    uint64_t c[K];
    for (int p = 0; p < K; ++p) c[p] = A[i * K + p];
    uint64_t* __restrict o = out[i];
    for (size_t j0 = 0; j0 < n; j0 += BLK) {
      const size_t end = (j0 + BLK < n) ? j0 + BLK : n;
      for (size_t j = j0; j < end; ++j) {
        uint64_t acc = mul(c[0], xs[0][j]);
        for (int p = 1; p < K; ++p) acc += mul(c[p], xs[p][j]);
        o[j] = reduce64(acc);
      }
    }
  }
}

}  // namespace

void lincomb_rows(const uint64_t* A, size_t m, size_t k, const uint64_t* const* x, uint64_t* const* out,
                  size_t n) {
  // Products are reduced (< 2^61) and added lazily: seven of them fit in 64 bits, so the
  // accumulator is folded every six additions. The inputs of a block stay in cache while all m
  // outputs are computed, so each input is read from memory once.
  switch (k) {  // few inputs (the Shamir case): unrolled, register-resident, one fold per output
    case 1: return lincomb_small<1>(A, m, x, out, n);
    case 2: return lincomb_small<2>(A, m, x, out, n);
    case 3: return lincomb_small<3>(A, m, x, out, n);
    case 4: return lincomb_small<4>(A, m, x, out, n);
    case 5: return lincomb_small<5>(A, m, x, out, n);
    case 6: return lincomb_small<6>(A, m, x, out, n);
    case 7: return lincomb_small<7>(A, m, x, out, n);
    default: break;
  }
  constexpr size_t BLK = 256;
  uint64_t acc[BLK];
  for (size_t j0 = 0; j0 < n; j0 += BLK) {
    const size_t len = (n - j0 < BLK) ? n - j0 : BLK;
    for (size_t i = 0; i < m; ++i) {
      const uint64_t* a = A + i * k;
      if (k == 0) {
        for (size_t j = 0; j < len; ++j) acc[j] = 0;
      } else {
        const uint64_t* x0 = x[0] + j0;
        const uint64_t c0 = a[0];
        for (size_t j = 0; j < len; ++j) acc[j] = mul(c0, x0[j]);
      }
      int pending = 1;
      for (size_t p = 1; p < k; ++p) {
        const uint64_t* xp = x[p] + j0;
        const uint64_t cp = a[p];
        if (pending == 7) {
          for (size_t j = 0; j < len; ++j) acc[j] = reduce64(acc[j]);
          pending = 1;
        }
        for (size_t j = 0; j < len; ++j) acc[j] += mul(cp, xp[j]);
        ++pending;
      }
      uint64_t* o = out[i] + j0;
      for (size_t j = 0; j < len; ++j) o[j] = reduce64(acc[j]);
    }
  }
}

void lincomb_n(const uint64_t* c, const uint64_t* const* x, size_t k, uint64_t* out, size_t n) {
  lincomb_rows(c, 1, k, x, &out, n);
}

void matmul(const uint64_t* A, const uint64_t* B, uint64_t* C, size_t m, size_t k, size_t n) {
  if (n >= 16) {  // each output row is a linear combination of the rows of B
    std::vector<const uint64_t*> rows(k);
    std::vector<uint64_t*> outs(m);
    for (size_t p = 0; p < k; ++p) rows[p] = B + p * n;
    for (size_t i = 0; i < m; ++i) outs[i] = C + i * n;
    lincomb_rows(A, m, k, rows.data(), outs.data(), n);
    return;
  }
  // Narrow outputs (dot products, matrix-vector): accumulate along k in 128 bits.
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
