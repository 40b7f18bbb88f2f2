// The code paths behind kernels::matmul(), one translation unit each (reference.cpp, avx2.cpp, avx512.cpp,
// each compiled with its own instruction-set flags). matmul() hands them x already copied into padded rows,
// so the paths never read past a row and never handle odd K themselves.
#pragma once

#include <cstdint>

#include "core/kernels/kernels.h"

namespace stepwise::kernels::detail {

// Rows of x, each `stride` elements apart and zero-padded from K to `padded_k` (K rounded up to even).
// Exactly one of f32 / bf16 is set: bf16 only for the AVX-512 vdpbf16ps paths (bfloat16 x).
struct PaddedRows {
  const float* f32 = nullptr;
  const uint16_t* bf16 = nullptr;
  int64_t rows = 0;
  int64_t stride = 0;
};

// Whether the path wants x as bfloat16 (else float32) for this weight format and x element type.
inline bool avx512_wants_bfloat16_rows(WeightFormat format, ElementType x_type) {
  return x_type == ElementType::kBFloat16;
}

void matmul_reference(const PackedWeight& weight, const PaddedRows& x, float* y, int64_t y_stride,
                      int64_t panel_begin, int64_t panel_end);
void matmul_avx2(const PackedWeight& weight, const PaddedRows& x, float* y, int64_t y_stride, int64_t panel_begin,
                 int64_t panel_end);
void matmul_avx512(const PackedWeight& weight, const PaddedRows& x, float* y, int64_t y_stride,
                   int64_t panel_begin, int64_t panel_end);

float stream_sum_reference(const float* values, int64_t count);
float stream_sum_avx2(const float* values, int64_t count);
float stream_sum_avx512(const float* values, int64_t count);

// K rounded up to even: the length of every padded row and of a bfloat16 panel's k range.
inline int64_t padded_in_features(int64_t in_features) { return (in_features + 1) / 2 * 2; }

}  // namespace stepwise::kernels::detail
