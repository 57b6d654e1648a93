#include "mpcn/cpu.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#endif

namespace mpcn {

namespace {

CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(_M_X64)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  f.aesni = (c >> 25) & 1;
  f.pclmul = (c >> 1) & 1;
  const bool osxsave = (c >> 27) & 1;
  const bool avx = (c >> 28) & 1;
  bool ymm_state = false;
  if (osxsave && avx) {
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    ymm_state = (lo & 0x6) == 0x6;  // XMM and YMM state enabled by the OS
  }
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    f.avx2 = ymm_state && ((b >> 5) & 1);
    f.vaes = f.avx2 && f.aesni && ((c >> 9) & 1);
    f.vpclmul = f.avx2 && f.pclmul && ((c >> 10) & 1);
  }
#endif
  return f;
}

Isa env_cap() {
  const char* v = std::getenv("MPC_NATIVE_ISA");
  if (!v || !*v) return Isa::Vaes;
  if (std::strcmp(v, "portable") == 0) return Isa::Portable;
  if (std::strcmp(v, "aesni") == 0) return Isa::AesNi;
  return Isa::Vaes;
}

std::atomic<int> g_cap{-1};

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

void set_isa_cap(Isa cap) { g_cap.store(int(cap)); }

Isa active_isa() {
  int cap = g_cap.load();
  if (cap < 0) {
    cap = int(env_cap());
    g_cap.store(cap);
  }
  const CpuFeatures& f = cpu_features();
  int best = f.vaes ? int(Isa::Vaes) : (f.aesni ? int(Isa::AesNi) : int(Isa::Portable));
  return Isa(best < cap ? best : cap);
}

std::string isa_name(Isa isa) {
  switch (isa) {
    case Isa::Vaes: return "vaes";
    case Isa::AesNi: return "aesni";
    default: return "portable";
  }
}

}  // namespace mpcn
