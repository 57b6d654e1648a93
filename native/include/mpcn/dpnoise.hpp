// Exact samplers for differential privacy (Canonne, Kamath, Steinke 2020, "The Discrete Gaussian
// for Differential Privacy", Algorithms 1-3), driven by a stream of uniform 64-bit words.
//
// Every probability is a ratio of integers and every test compares integers: no floating point
// touches the output distribution. A `Words` source supplies uniform words (the Python side
// feeds it from mpc.crypto.PRG, AES-128-CTR), so the samples are a deterministic function of
// the PRG key. Arithmetic is 64/128-bit; inputs are limited (checked by the Python wrappers) so
// that nothing overflows except on events of probability below 2^-1000, where the sampler
// throws std::overflow_error instead of returning an inexact value.
#pragma once

#include <cstdint>
#include <stdexcept>

namespace mpcn {
namespace dpnoise {

using u128 = unsigned __int128;

// Uniform integer in [0, n) for 1 <= n < 2^64 (Lemire's multiply-and-reject: exact).
template <class W>
inline uint64_t uniform_below(W& w, uint64_t n) {
  uint64_t x = w.next();
  u128 m = (u128)x * n;
  uint64_t low = (uint64_t)m;
  if (low < n) {
    uint64_t thresh = (uint64_t)(0 - n) % n;
    while (low < thresh) {
      x = w.next();
      m = (u128)x * n;
      low = (uint64_t)m;
    }
  }
  return (uint64_t)(m >> 64);
}

inline int bit_length(u128 v) {
  uint64_t hi = (uint64_t)(v >> 64), lo = (uint64_t)v;
  if (hi) return 128 - __builtin_clzll(hi);
  if (lo) return 64 - __builtin_clzll(lo);
  return 0;
}

// Uniform integer in [0, n) for 1 <= n <= 2^128 - 1 (masking and rejection: exact).
template <class W>
inline u128 uniform_below128(W& w, u128 n) {
  if ((n >> 64) == 0) return uniform_below(w, (uint64_t)n);
  int bits = bit_length(n - 1);
  u128 mask = bits >= 128 ? ~(u128)0 : (((u128)1 << bits) - 1);
  for (;;) {
    uint64_t hi = w.next();  // two statements: the order in which words are read is fixed
    uint64_t lo = w.next();
    u128 x = (((u128)hi << 64) | lo) & mask;
    if (x < n) return x;
  }
}

// Bernoulli(r / (d * k)) for 0 <= r <= d, k >= 1, without forming d * k: with U uniform in
// [0, d) and V uniform in [0, k), U*k + V is uniform in [0, d*k), and U*k + V < r exactly when
// U < r div k, or U = r div k and V < r mod k.
template <class W>
inline bool bernoulli_ratio_k(W& w, u128 r, u128 d, uint64_t k) {
  u128 q = r / k;
  uint64_t rem = (uint64_t)(r % k);
  u128 u = uniform_below128(w, d);
  if (u < q) return true;
  if (u > q) return false;
  return rem != 0 && uniform_below(w, k) < rem;
}

// Bernoulli(exp(-r/d)) for 0 <= r <= d (CKS20 Algorithm 1, gamma in [0, 1]).
template <class W>
inline bool bernoulli_exp_le1(W& w, u128 r, u128 d) {
  uint64_t k = 1;
  while (bernoulli_ratio_k(w, r, d, k)) ++k;
  return (k & 1) != 0;
}

// Bernoulli(exp(-1)).
template <class W>
inline bool bernoulli_exp1(W& w) {
  uint64_t k = 1;
  while (uniform_below(w, k) == 0) ++k;  // Bernoulli(1/k)
  return (k & 1) != 0;
}

// Bernoulli(exp(-n/d)) for any n >= 0, d >= 1 (CKS20 Algorithm 1, gamma > 1 by splitting off
// floor(gamma) factors of exp(-1); the loop ends at the first failure, expected < 2 draws).
template <class W>
inline bool bernoulli_exp(W& w, u128 n, u128 d) {
  u128 whole = n / d;
  for (u128 i = 0; i < whole; ++i)
    if (!bernoulli_exp1(w)) return false;
  return bernoulli_exp_le1(w, n % d, d);
}

constexpr uint64_t kInt64Max = 0x7fffffffffffffffULL;

// Discrete Laplace with scale t/s: P(x) proportional to exp(-|x| s / t) (CKS20 Algorithm 2).
template <class W>
inline int64_t discrete_laplace(W& w, uint64_t s, uint64_t t) {
  for (;;) {
    uint64_t u = uniform_below(w, t);
    if (!bernoulli_exp_le1(w, u, t)) continue;
    uint64_t v = 0;
    while (bernoulli_exp1(w)) ++v;
    u128 x = (u128)u + (u128)t * v;
    u128 y = x / s;
    bool negative = (w.next() & 1) != 0;
    if (negative && y == 0) continue;
    if (y > kInt64Max) throw std::overflow_error("discrete Laplace sample beyond 2^63 (probability < 2^-1000)");
    return negative ? -(int64_t)y : (int64_t)y;
  }
}

// Discrete Gaussian N_Z(0, a/b) (CKS20 Algorithm 3 with the Laplace scale chosen so that the
// acceptance test stays in 128-bit integers). The proposal is discrete Laplace with scale
// tau = sigma^2 / c for a constant c > 0, accepted with probability
// exp(-(|Y| - c)^2 / (2 sigma^2)); any c > 0 gives exactly N_Z(0, sigma^2) (CKS20, proof of
// Theorem 16). We take c = floor(sigma) when sigma >= 1 (then tau = a/(b c) in [sigma, 2 sigma)),
// and c = sigma^2 (tau = 1) when sigma < 1. `c` is floor(sqrt(a/b)), or 0 for sigma < 1.
template <class W>
inline int64_t discrete_gaussian(W& w, uint64_t a, uint64_t b, uint64_t c) {
  const u128 UMAX = ~(u128)0;
  for (;;) {
    u128 num, den;
    int64_t y;
    if (c >= 1) {
      y = discrete_laplace(w, b * c, a);  // scale a / (b c)
      uint64_t ay = y < 0 ? (uint64_t)(-(y + 1)) + 1 : (uint64_t)y;
      uint64_t diff = ay >= c ? ay - c : c - ay;
      u128 sq = (u128)diff * diff;
      if (sq != 0 && sq > UMAX / b) throw std::overflow_error("discrete Gaussian proposal beyond the exact range (probability < 2^-1000)");
      num = sq * b;  // (|Y| - c)^2 b / (2 a)
      den = (u128)a * 2;
    } else {
      y = discrete_laplace(w, 1, 1);
      uint64_t ay = y < 0 ? (uint64_t)(-(y + 1)) + 1 : (uint64_t)y;
      u128 by = (u128)b * ay;
      u128 diff = by >= a ? by - a : a - by;
      if ((diff >> 64) != 0) throw std::overflow_error("discrete Gaussian proposal beyond the exact range (probability < 2^-1000)");
      num = diff * diff;  // (b|Y| - a)^2 / (2 a b)
      den = (u128)a * b * 2;
    }
    if (bernoulli_exp(w, num, den)) return y;
  }
}

}  // namespace dpnoise
}  // namespace mpcn
