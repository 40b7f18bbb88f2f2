// Choosing a code path at run time (CPUID plus the OS's saved register state, or STEPWISE_KERNELS) and
// the front of kernels::matmul(): argument checks, x copied into zero-padded rows, then the chosen path.
// Compiled without instruction-set flags, so it runs on any x86-64 CPU.
#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/kernels/kernel_paths.h"
#include "core/kernels/kernels.h"

namespace stepwise::kernels {
namespace {

#if defined(__x86_64__)
// XCR0: the register state the OS saves on a context switch (bit 1 SSE, 2 AVX, 5-7 opmask / ZMM).
uint64_t enabled_register_state() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0 || (ecx & bit_OSXSAVE) == 0) return 0;
  uint32_t low = 0, high = 0;
  __asm__ volatile("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
  return (static_cast<uint64_t>(high) << 32) | low;
}

bool os_saves_avx() { return (enabled_register_state() & 0x6) == 0x6; }
bool os_saves_avx512() { return (enabled_register_state() & 0xe6) == 0xe6; }

bool cpu_has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && os_saves_avx();
}

bool cpu_has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16") && cpu_has_avx2() &&
         os_saves_avx512();
}
#else
bool cpu_has_avx2() { return false; }
bool cpu_has_avx512() { return false; }
#endif

// x rows copied and padded; one buffer per thread, reused across calls.
struct RowBuffers {
  std::vector<float> f32;
  std::vector<uint16_t> bf16;
};

detail::PaddedRows pad_rows(const Activations& x, int64_t in_features, bool want_bfloat16) {
  thread_local RowBuffers buffers;
  const int64_t padded = detail::padded_in_features(in_features);
  detail::PaddedRows rows;
  rows.rows = x.rows;
  rows.stride = padded;
  const size_t total = static_cast<size_t>(x.rows * padded);
  if (want_bfloat16) {  // only for bfloat16 x
    buffers.bf16.assign(total, 0);
    const auto* source = static_cast<const uint16_t*>(x.data);
    for (int64_t m = 0; m < x.rows; ++m)
      std::memcpy(buffers.bf16.data() + m * padded, source + m * x.stride, static_cast<size_t>(in_features) * 2);
    rows.bf16 = buffers.bf16.data();
    return rows;
  }
  buffers.f32.assign(total, 0.0f);
  for (int64_t m = 0; m < x.rows; ++m) {
    float* out = buffers.f32.data() + m * padded;
    if (x.type == ElementType::kFloat32) {
      std::memcpy(out, static_cast<const float*>(x.data) + m * x.stride, static_cast<size_t>(in_features) * 4);
    } else {
      const uint16_t* source = static_cast<const uint16_t*>(x.data) + m * x.stride;
      for (int64_t k = 0; k < in_features; ++k) {
        const uint32_t wide = static_cast<uint32_t>(source[k]) << 16;
        std::memcpy(out + k, &wide, sizeof wide);
      }
    }
  }
  rows.f32 = buffers.f32.data();
  return rows;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kReference: return "reference";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
  }
  return "?";
}

bool isa_supported(Isa isa) {
  static const bool avx2 = cpu_has_avx2();
  static const bool avx512 = cpu_has_avx512();
  switch (isa) {
    case Isa::kReference: return true;
    case Isa::kAvx2: return avx2;
    case Isa::kAvx512: return avx512;
  }
  return false;
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::kReference, Isa::kAvx2, Isa::kAvx512})
    if (isa_supported(isa)) out.push_back(isa);
  return out;
}

Isa choose_isa(const char* requested) {
  if (requested == nullptr || *requested == '\0') return supported_isas().back();
  const std::string name = requested;
  for (Isa isa : {Isa::kReference, Isa::kAvx2, Isa::kAvx512}) {
    if (name != isa_name(isa)) continue;
    check(isa_supported(isa), "STEPWISE_KERNELS=", name, ": this CPU cannot run that path (",
          isa == Isa::kAvx2 ? "needs AVX2, FMA and OS support for AVX state"
                            : "needs AVX512F, AVX512BW, AVX512VL, AVX512-BF16 and OS support for ZMM state",
          ")");
    return isa;
  }
  fail("STEPWISE_KERNELS=", name, ": expected reference, avx2 or avx512");
}

Isa active_isa() {
  static const Isa isa = choose_isa(std::getenv("STEPWISE_KERNELS"));
  return isa;
}

void matmul(const PackedWeight& weight, const Activations& x, float* y, int64_t y_stride, int64_t panel_begin,
            int64_t panel_end, Isa isa) {
  check(x.rows >= 1, "kernels::matmul: ", x.rows, " rows of x, expected at least 1");
  check(x.data != nullptr && y != nullptr, "kernels::matmul: no data");
  check(x.type == ElementType::kFloat32 || x.type == ElementType::kBFloat16,
        "kernels::matmul: x must be float32 or bfloat16");
  check(x.stride >= weight.in_features && y_stride >= weight.out_features, "kernels::matmul: row strides ",
        x.stride, " / ", y_stride, " shorter than the rows ", weight.in_features, " / ", weight.out_features);
  check(0 <= panel_begin && panel_begin <= panel_end && panel_end <= weight.panels(), "kernels::matmul: panels [",
        panel_begin, ", ", panel_end, ") outside [0, ", weight.panels(), ")");
  check(isa_supported(isa), "kernels::matmul: this CPU cannot run the ", isa_name(isa), " path");
  if (panel_begin == panel_end) return;
  const bool bfloat16_rows = isa == Isa::kAvx512 && detail::avx512_wants_bfloat16_rows(weight.format, x.type);
  const detail::PaddedRows rows = pad_rows(x, weight.in_features, bfloat16_rows);
  switch (isa) {
    case Isa::kReference: detail::matmul_reference(weight, rows, y, y_stride, panel_begin, panel_end); break;
#if defined(__x86_64__)
    case Isa::kAvx2: detail::matmul_avx2(weight, rows, y, y_stride, panel_begin, panel_end); break;
    case Isa::kAvx512: detail::matmul_avx512(weight, rows, y, y_stride, panel_begin, panel_end); break;
#else
    default: break;  // never supported here
#endif
  }
}

float stream_sum(const float* values, int64_t count, Isa isa) {
  check(isa_supported(isa), "kernels::stream_sum: this CPU cannot run the ", isa_name(isa), " path");
  switch (isa) {
#if defined(__x86_64__)
    case Isa::kAvx2: return detail::stream_sum_avx2(values, count);
    case Isa::kAvx512: return detail::stream_sum_avx512(values, count);
#endif
    default: return detail::stream_sum_reference(values, count);
  }
}

}  // namespace stepwise::kernels
