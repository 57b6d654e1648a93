// AES-128 through the AES-NI instructions (the hardware implements the cipher; this file only
// sequences the instructions). Shared by the PRG and by kernels that need fixed-key AES.
#pragma once
#include <cstddef>
#include <cstdint>

#if defined(__x86_64__) || defined(_M_X64)
#define MPCN_X86 1
#include <immintrin.h>
#endif

namespace mpcn {

#ifdef MPCN_X86
struct Aes128Schedule {
  __m128i rk[11];
};

// Expand a 16-byte key (FIPS-197 key schedule via AESKEYGENASSIST). Requires AES-NI.
__attribute__((target("aes,sse4.1"))) void aes128_expand(const uint8_t key[16], Aes128Schedule* ks);

// Encrypt one block. Requires AES-NI.
__attribute__((target("aes,sse4.1"))) inline __m128i aes128_encrypt_block(const Aes128Schedule& ks,
                                                                          __m128i b) {
  b = _mm_xor_si128(b, ks.rk[0]);
  for (int r = 1; r < 10; ++r) b = _mm_aesenc_si128(b, ks.rk[r]);
  return _mm_aesenclast_si128(b, ks.rk[10]);
}
#endif

// AES-128-CTR keystream: block i of the stream is AES_k(i as a 128-bit big-endian integer),
// i = start_block, start_block+1, ...; exactly the stream of AES-CTR with IV = start_block
// (so it equals the `cryptography` package's AES-CTR with a zero IV when start_block = 0).
// Writes nbytes (the last block may be cut). Returns false if no AES-NI path is available.
bool aes128_ctr_fill(const uint8_t key[16], uint64_t start_block, uint8_t* out, size_t nbytes);

// AES-128-ECB encryption of nblocks 16-byte blocks (for known-answer tests). Returns false
// without AES-NI.
bool aes128_ecb_encrypt(const uint8_t key[16], const uint8_t* in, uint8_t* out, size_t nblocks);

}  // namespace mpcn
