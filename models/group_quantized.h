// Group-quantized weight matrices as the rest of the tree hands them to the model
// (Transformer::set_group_quantized): int8 with per-group scales (symmetric) or int4 with per-group
// scales and optional zero points, groups of `group_size` consecutive in-features of one output row.
//   int8:  W[n][k] = q * s,        q in [-128, 127]
//   int4:  W[n][k] = (q - z) * s,  q in 0..15, z in 0..15 (z = 8 when symmetric)
// with s = scales[n][k / group_size], z = zero_points[n][k / group_size], one float32 rounding each, the
// arithmetic the int8 / int4 kernels of core/kernels use. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/kernels/kernels.h"

namespace stepwise {

struct GroupQuantizedMatrix {
  int bits = 8;               // 8 or 4
  int64_t out_features = 0;   // N
  int64_t in_features = 0;    // K
  int64_t group_size = 0;     // in-features per scale: 32, 64 or 128, dividing K
  bool symmetric = true;      // int8: always; int4: z = 8 and no zero points
  std::vector<int8_t> values;        // (N, K) row-major: int8 q, or int4 q in 0..15 (one per element)
  std::vector<float> scales;         // (N, K / group_size)
  std::vector<uint8_t> zero_points;  // (N, K / group_size), int4 asymmetric only, else empty
};

// Throws stepwise::Error naming `name` (the tensor) unless every field is consistent: bits 8 or 4,
// positive shape, a supported group size dividing K, vectors of the sizes above, int4 values and zero
// points in 0..15, finite scales, int8 symmetric, zero points present exactly for asymmetric int4.
void check_group_quantized(const GroupQuantizedMatrix& matrix, const std::string& name);

// The dequantized matrix (N, K) row-major in float32, as the kernels compute it. `matrix` must pass
// check_group_quantized.
std::vector<float> dequantize_group_quantized(const GroupQuantizedMatrix& matrix);

// The matrix repacked for core/kernels (int8 or int4 panels). `matrix` must pass check_group_quantized.
kernels::PackedWeight pack_group_quantized(const GroupQuantizedMatrix& matrix, const std::string& name);

}  // namespace stepwise
