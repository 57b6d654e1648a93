// Z_2^64 kernels: uint64 arithmetic wraps, which is exactly the ring's reduction.
#pragma once
#include <cstddef>
#include <cstdint>

namespace mpcn {
namespace z64 {

// C (m x n) = A (m x k) @ B (k x n) mod 2^64, row-major.
void matmul(const uint64_t* A, const uint64_t* B, uint64_t* C, size_t m, size_t k, size_t n);

}  // namespace z64
}  // namespace mpcn
