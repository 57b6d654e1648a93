// AES-128-CTR keystream with AES-NI (8 blocks in flight) and VAES (16 blocks in flight in
// eight 256-bit registers). The cipher itself is the CPU's AES instructions.
#include <cstring>

#include "mpcn/aes.hpp"
#include "mpcn/cpu.hpp"

namespace mpcn {

#ifdef MPCN_X86

namespace {

template <int RCON>
__attribute__((target("aes,sse4.1"))) inline __m128i expand_step(__m128i key) {
  __m128i t = _mm_aeskeygenassist_si128(key, RCON);
  t = _mm_shuffle_epi32(t, _MM_SHUFFLE(3, 3, 3, 3));
  key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
  key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
  key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
  return _mm_xor_si128(key, t);
}

// Counter block i as a 128-bit big-endian integer (high 64 bits zero).
__attribute__((target("sse4.1"))) inline __m128i ctr_block(uint64_t i) {
  return _mm_set_epi64x((long long)__builtin_bswap64(i), 0);
}

__attribute__((target("aes,sse4.1"))) void ctr_aesni(const Aes128Schedule& ks, uint64_t ctr,
                                                      uint8_t* out, size_t nblocks) {
  size_t i = 0;
  for (; i + 8 <= nblocks; i += 8, ctr += 8) {
    __m128i b[8];
    for (int j = 0; j < 8; ++j) b[j] = _mm_xor_si128(ctr_block(ctr + j), ks.rk[0]);
    for (int r = 1; r < 10; ++r)
      for (int j = 0; j < 8; ++j) b[j] = _mm_aesenc_si128(b[j], ks.rk[r]);
    for (int j = 0; j < 8; ++j)
      _mm_storeu_si128((__m128i*)(out + 16 * (i + j)), _mm_aesenclast_si128(b[j], ks.rk[10]));
  }
  for (; i < nblocks; ++i, ++ctr)
    _mm_storeu_si128((__m128i*)(out + 16 * i), aes128_encrypt_block(ks, ctr_block(ctr)));
}

__attribute__((target("vaes,avx2,aes,sse4.1"))) void ctr_vaes(const Aes128Schedule& ks, uint64_t ctr,
                                                               uint8_t* out, size_t nblocks) {
  __m256i rk[11];
  for (int r = 0; r < 11; ++r) rk[r] = _mm256_broadcastsi128_si256(ks.rk[r]);
  size_t i = 0;
  for (; i + 16 <= nblocks; i += 16, ctr += 16) {
    __m256i b[8];
    for (int j = 0; j < 8; ++j) {
      __m256i c = _mm256_set_epi64x((long long)__builtin_bswap64(ctr + 2 * j + 1), 0,
                                    (long long)__builtin_bswap64(ctr + 2 * j), 0);
      b[j] = _mm256_xor_si256(c, rk[0]);
    }
    for (int r = 1; r < 10; ++r)
      for (int j = 0; j < 8; ++j) b[j] = _mm256_aesenc_epi128(b[j], rk[r]);
    for (int j = 0; j < 8; ++j)
      _mm256_storeu_si256((__m256i*)(out + 16 * (i + 2 * j)), _mm256_aesenclast_epi128(b[j], rk[10]));
  }
  if (i < nblocks) ctr_aesni(ks, ctr, out + 16 * i, nblocks - i);
}

}  // namespace

__attribute__((target("aes,sse4.1"))) void aes128_expand(const uint8_t key[16], Aes128Schedule* ks) {
  __m128i k = _mm_loadu_si128((const __m128i*)key);
  ks->rk[0] = k;
  ks->rk[1] = k = expand_step<0x01>(k);
  ks->rk[2] = k = expand_step<0x02>(k);
  ks->rk[3] = k = expand_step<0x04>(k);
  ks->rk[4] = k = expand_step<0x08>(k);
  ks->rk[5] = k = expand_step<0x10>(k);
  ks->rk[6] = k = expand_step<0x20>(k);
  ks->rk[7] = k = expand_step<0x40>(k);
  ks->rk[8] = k = expand_step<0x80>(k);
  ks->rk[9] = k = expand_step<0x1b>(k);
  ks->rk[10] = expand_step<0x36>(k);
}

bool aes128_ctr_fill(const uint8_t key[16], uint64_t start_block, uint8_t* out, size_t nbytes) {
  Isa isa = active_isa();
  if (isa == Isa::Portable) return false;
  Aes128Schedule ks;
  aes128_expand(key, &ks);
  size_t full = nbytes / 16;
  if (isa == Isa::Vaes)
    ctr_vaes(ks, start_block, out, full);
  else
    ctr_aesni(ks, start_block, out, full);
  size_t rest = nbytes - 16 * full;
  if (rest) {
    uint8_t tail[16];
    ctr_aesni(ks, start_block + full, tail, 1);
    std::memcpy(out + 16 * full, tail, rest);
  }
  return true;
}

bool aes128_ecb_encrypt(const uint8_t key[16], const uint8_t* in, uint8_t* out, size_t nblocks) {
  if (active_isa() == Isa::Portable) return false;
  Aes128Schedule ks;
  aes128_expand(key, &ks);
  for (size_t i = 0; i < nblocks; ++i) {
    __m128i b = _mm_loadu_si128((const __m128i*)(in + 16 * i));
    _mm_storeu_si128((__m128i*)(out + 16 * i), aes128_encrypt_block(ks, b));
  }
  return true;
}

#else  // not x86: no AES instructions; Python falls back to the `cryptography` package.

bool aes128_ctr_fill(const uint8_t*, uint64_t, uint8_t*, size_t) { return false; }
bool aes128_ecb_encrypt(const uint8_t*, const uint8_t*, uint8_t*, size_t) { return false; }

#endif

}  // namespace mpcn
