// Fast discrete Gaussian N_Z(0, a/b) from a 128-bit cumulative table over bins of width w = 2^m
// plus exact rejection inside a bin (see dp/mechanisms/table_sampler.py for the analysis).
//
// |X| is drawn as y = j*w + r: the bin j >= 0 from the table (P(j) proportional to
// exp(-(j w)^2 / (2 sigma^2)), thresholds T_j = cumulative * 2^128, the last bin a catch-all), r
// uniform in [0, w) from m random bits, accepted with probability exp(-(y^2 - (j w)^2) b / (2 a))
// by the exact Bernoulli(exp(-n/d)) of dpnoise.hpp; y = 0 is kept with probability 1/2 and the
// sign is a fair bit. Only the table is approximate (statistical distance bounded in Python).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "mpcn/dpnoise.hpp"

namespace mpcn {
namespace dptable {

using u128 = unsigned __int128;

// Random bits from a word source, one word at a time (bits are used low to high).
template <class W>
class BitPool {
 public:
  explicit BitPool(W& w) : w_(w) {}
  inline uint64_t take(int n) {  // 1 <= n <= 63
    if (left_ < n) {
      cur_ = w_.next();
      left_ = 64;
    }
    uint64_t v = cur_ & ((uint64_t(1) << n) - 1);
    cur_ >>= n;
    left_ -= n;
    return v;
  }
  W& words() { return w_; }

 private:
  W& w_;
  uint64_t cur_ = 0;
  int left_ = 0;
};

struct Table {
  const uint64_t* hi;   // high words of T_0..T_J (T_J: catch-all)
  const uint64_t* lo;   // low words
  const uint32_t* guide;  // guide[t] = first j with hi[j] >= t << (64 - guide_bits), guide_bits <= 32
  size_t size;          // J + 1
  int guide_bits;
  int m;                // bin width w = 2^m
  uint64_t a, b;        // sigma^2 = a / b
  uint64_t d;           // 2 a (< 2^64)
};

// The bin index j: smallest j with U < T_j for U uniform in [0, 2^128), the last bin a catch-all.
// U's bits are drawn lazily: the top 32 bits decide unless they tie with the top 32 bits of T_j
// (probability about J * 2^-32); then the next 96 bits are drawn and the full comparison decides.
template <class W>
inline size_t draw_bin(BitPool<W>& bits, const Table& t) {
  uint64_t top = bits.take(32);
  size_t j = t.guide[top >> (32 - t.guide_bits)];
  const size_t last = t.size - 1;
  while (j < last && (t.hi[j] >> 32) < top) ++j;
  if (j == last || (t.hi[j] >> 32) > top) return j;
  uint64_t h = (top << 32) | bits.take(32);
  uint64_t l = bits.words().next();
  while (j < last && (t.hi[j] < h || (t.hi[j] == h && t.lo[j] <= l))) ++j;
  return j;
}

// Bernoulli(n/d) for n < d < 2^64 from a lazily revealed uniform U: its top 16 bits u decide
// "U >= n/d" when u/2^16 >= n/d; otherwise (U < c/2^16 with c = ceil(n 2^16 / d)) the answer is
// Bernoulli((n 2^16) / (d c)), the exact conditional probability, drawn with fresh words.
template <class W>
inline bool bernoulli_ratio_lazy(BitPool<W>& bits, u128 n, uint64_t d) {
  uint64_t u = bits.take(16);
  u128 scaled = n << 16;
  if ((u128)u * d >= scaled) return false;
  u128 c = (scaled + d - 1) / d;  // u < c here, c <= 2^16
  u128 den = (u128)d * c;
  return dpnoise::uniform_below128(bits.words(), den) < scaled;
}

// Bernoulli(exp(-n/d)), d < 2^64: CKS20 Algorithm 1 (as dpnoise::bernoulli_exp) with the first
// trial Bernoulli(n/d) drawn lazily when n < d (the usual case: the exponent is small).
template <class W>
inline bool accept(BitPool<W>& bits, u128 n, uint64_t d) {
  if (n >= d) return dpnoise::bernoulli_exp(bits.words(), n, d);
  if (!bernoulli_ratio_lazy(bits, n, d)) return true;  // first trial failed: K = 1, odd
  uint64_t k = 2;
  while (dpnoise::bernoulli_ratio_k(bits.words(), n, d, k)) ++k;
  return (k & 1) != 0;
}

template <class W>
inline int64_t sample(BitPool<W>& bits, const Table& t) {
  const uint64_t width = uint64_t(1) << t.m;
  for (;;) {
    uint64_t j = draw_bin(bits, t);
    uint64_t r = t.m ? bits.take(t.m) : 0;
    u128 y = (u128)j * width + r;
    if (r != 0) {
      // exp(-((j w + r)^2 - (j w)^2) b / (2 a)) = exp(-(2 j w r + r^2) b / (2 a))
      u128 e = (u128)2 * j * width * r + (u128)r * r;
      if (e > (~(u128)0) / t.b) throw std::overflow_error("table sampler exponent overflow");
      if (!accept(bits, e * t.b, t.d)) continue;
    }
    if (y == 0) {
      if (bits.take(1)) continue;  // 0 has half the weight of +-y in the folded law
      return 0;
    }
    if (y > (u128)dpnoise::kInt64Max) throw std::overflow_error("table sampler value beyond int64");
    return bits.take(1) ? -(int64_t)y : (int64_t)y;
  }
}

}  // namespace dptable
}  // namespace mpcn
