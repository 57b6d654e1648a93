// IKNP OT extension kernels: the column PRG expansion (AES-CTR via aes.hpp), the u matrix, and
// the 128 x m bit-matrix transpose (SSE2 byte transposes + movemask, baseline x86-64).
// Reference: Ishai, Kilian, Nissim, Petrank, "Extending Oblivious Transfers Efficiently",
// CRYPTO 2003, Section 3 (semi-honest protocol).
#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

#include "mpcn/aes.hpp"
#include "mpcn/gc.hpp"

namespace mpcn {

#ifdef MPCN_X86

// 16 rows of 16 bytes -> t[j] holds byte j of every row (row k in byte k).
static inline void transpose16x16(const __m128i r[16], __m128i t[16]) {
  __m128i s[16], u[16];
  for (int i = 0; i < 8; ++i) {
    s[i] = _mm_unpacklo_epi8(r[2 * i], r[2 * i + 1]);
    s[i + 8] = _mm_unpackhi_epi8(r[2 * i], r[2 * i + 1]);
  }
  for (int h = 0; h < 2; ++h)  // h = 0: columns 0..7, h = 1: columns 8..15
    for (int i = 0; i < 4; ++i) {
      u[8 * h + i] = _mm_unpacklo_epi16(s[8 * h + 2 * i], s[8 * h + 2 * i + 1]);
      u[8 * h + i + 4] = _mm_unpackhi_epi16(s[8 * h + 2 * i], s[8 * h + 2 * i + 1]);
    }
  for (int G = 0; G < 16; G += 4) {  // u[G..G+3]: row groups 0..3 of columns G..G+3
    __m128i lo01 = _mm_unpacklo_epi32(u[G], u[G + 1]), hi01 = _mm_unpackhi_epi32(u[G], u[G + 1]);
    __m128i lo23 = _mm_unpacklo_epi32(u[G + 2], u[G + 3]), hi23 = _mm_unpackhi_epi32(u[G + 2], u[G + 3]);
    t[G] = _mm_unpacklo_epi64(lo01, lo23);
    t[G + 1] = _mm_unpackhi_epi64(lo01, lo23);
    t[G + 2] = _mm_unpacklo_epi64(hi01, hi23);
    t[G + 3] = _mm_unpackhi_epi64(hi01, hi23);
  }
}

void bit_transpose_128(const uint8_t* in, size_t m, uint8_t* out) {
  if (m % 128) throw std::invalid_argument("bit_transpose_128: m must be a multiple of 128");
  const size_t row_bytes = m / 8;
  for (size_t rb = 0; rb < 8; ++rb) {          // input rows 16rb .. 16rb+15
    for (size_t cb = 0; cb < row_bytes; cb += 16) {  // input bytes cb .. cb+15
      __m128i r[16], t[16];
      for (int k = 0; k < 16; ++k) r[k] = _mm_loadu_si128((const __m128i*)(in + (16 * rb + k) * row_bytes + cb));
      transpose16x16(r, t);
      for (int j = 0; j < 16; ++j) {
        __m128i v = t[j];
        const size_t base_row = 8 * (cb + j);  // output rows base_row .. base_row+7
        for (int bit = 7; bit >= 0; --bit) {
          uint16_t mask = uint16_t(_mm_movemask_epi8(v));
          std::memcpy(out + (base_row + bit) * 16 + 2 * rb, &mask, 2);
          v = _mm_add_epi8(v, v);
        }
      }
    }
  }
}

#else

void bit_transpose_128(const uint8_t* in, size_t m, uint8_t* out) {
  if (m % 128) throw std::invalid_argument("bit_transpose_128: m must be a multiple of 128");
  std::memset(out, 0, m * 16);
  for (size_t i = 0; i < 128; ++i)
    for (size_t j = 0; j < m; ++j)
      if ((in[i * (m / 8) + j / 8] >> (j % 8)) & 1) out[j * 16 + i / 8] |= uint8_t(1u << (i % 8));
}

#endif

namespace {

void prg_column(const uint8_t* key, uint64_t ctr_offset, uint8_t* out, size_t nbytes) {
  if (!aes128_ctr_fill(key, ctr_offset, out, nbytes))
    throw UnsupportedCpuError("IKNP needs AES-NI, which this CPU lacks (or MPC_NATIVE_ISA=portable)");
}

inline void xor_into(uint8_t* dst, const uint8_t* src, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t a, b;
    std::memcpy(&a, dst + i, 8);
    std::memcpy(&b, src + i, 8);
    a ^= b;
    std::memcpy(dst + i, &a, 8);
  }
  for (; i < n; ++i) dst[i] ^= src[i];
}

}  // namespace

// Work in slabs of kSlab OTs so the 128 column pieces (128 x kSlab/8 bytes) stay in cache
// between the PRG, the xors and the transpose (AES-CTR is seekable: slab j starts at counter
// ctr_offset + j*kSlab/128).
constexpr size_t kSlab = 1 << 14;

void iknp_receiver_extend(const uint8_t* k0, const uint8_t* k1, const uint8_t* r, size_t m, uint64_t ctr_offset,
                          uint8_t* u, uint8_t* t_rows) {
  if (m % 128) throw std::invalid_argument("IKNP: m must be a multiple of 128");
  const size_t nb = m / 8;
  std::unique_ptr<uint8_t[]> t(new uint8_t[128 * (kSlab / 8)]);  // filled below: no zeroing pass
  for (size_t s0 = 0; s0 < m; s0 += kSlab) {
    const size_t S = std::min(kSlab, m - s0), sb = S / 8, off = s0 / 8;
    const uint64_t ctr = ctr_offset + s0 / 128;
    for (size_t i = 0; i < 128; ++i) {
      uint8_t* ti = t.get() + i * sb;
      uint8_t* ui = u + i * nb + off;
      prg_column(k0 + 16 * i, ctr, ti, sb);
      prg_column(k1 + 16 * i, ctr, ui, sb);
      xor_into(ui, ti, sb);
      xor_into(ui, r + off, sb);
    }
    bit_transpose_128(t.get(), S, t_rows + 16 * s0);
  }
}

void iknp_sender_extend(const uint8_t* ks, const uint8_t s[16], const uint8_t* u, size_t m, uint64_t ctr_offset,
                        uint8_t* q_rows) {
  if (m % 128) throw std::invalid_argument("IKNP: m must be a multiple of 128");
  const size_t nb = m / 8;
  std::unique_ptr<uint8_t[]> q(new uint8_t[128 * (kSlab / 8)]);
  for (size_t s0 = 0; s0 < m; s0 += kSlab) {
    const size_t S = std::min(kSlab, m - s0), sb = S / 8, off = s0 / 8;
    const uint64_t ctr = ctr_offset + s0 / 128;
    for (size_t i = 0; i < 128; ++i) {
      uint8_t* qi = q.get() + i * sb;
      prg_column(ks + 16 * i, ctr, qi, sb);
      if ((s[i / 8] >> (i % 8)) & 1) xor_into(qi, u + i * nb + off, sb);
    }
    bit_transpose_128(q.get(), S, q_rows + 16 * s0);
  }
}

}  // namespace mpcn
