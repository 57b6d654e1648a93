// Run-time CPU feature detection. Kernels compiled with target attributes are only called
// when the matching feature is present, so the module runs on any x86-64 (and builds on
// other architectures, where only the portable paths exist).
#pragma once
#include <string>

namespace mpcn {

enum class Isa : int { Portable = 0, AesNi = 1, Vaes = 2 };

struct CpuFeatures {
  bool aesni = false;
  bool pclmul = false;
  bool avx2 = false;
  bool vaes = false;
  bool vpclmul = false;
};

// What the CPU (and OS, for AVX state) supports.
const CpuFeatures& cpu_features();

// The ISA level the kernels use: the best the CPU supports, capped by the environment
// variable MPC_NATIVE_ISA ("portable", "aesni", "vaes") so tests can exercise fallbacks.
Isa active_isa();
void set_isa_cap(Isa cap);
std::string isa_name(Isa isa);

}  // namespace mpcn
