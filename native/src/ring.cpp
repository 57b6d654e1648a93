// Z_2^64 matrix product. Blocked over k and j so a panel of B stays in cache; the inner loop is
// a multiply-add over a row, which the compiler vectorises. On x86-64 an AVX2 clone is chosen at
// load time when the CPU has AVX2 (GCC function multiversioning), else the baseline version.
#include "mpcn/ring.hpp"

#include <algorithm>

namespace mpcn {
namespace z64 {

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
void matmul(const uint64_t* A, const uint64_t* B, uint64_t* C, size_t m, size_t k, size_t n) {
  std::fill(C, C + m * n, uint64_t(0));
  constexpr size_t KB = 64, JB = 512;
  for (size_t j0 = 0; j0 < n; j0 += JB) {
    const size_t j1 = std::min(n, j0 + JB);
    for (size_t p0 = 0; p0 < k; p0 += KB) {
      const size_t p1 = std::min(k, p0 + KB);
      for (size_t i = 0; i < m; ++i) {
        uint64_t* __restrict c = C + i * n;
        const uint64_t* a = A + i * k;
        for (size_t p = p0; p < p1; ++p) {
          const uint64_t ap = a[p];
          const uint64_t* __restrict b = B + p * n;
          for (size_t j = j0; j < j1; ++j) c[j] += ap * b[j];
        }
      }
    }
  }
}

}  // namespace z64
}  // namespace mpcn
