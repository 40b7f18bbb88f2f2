// The GPTQ tensor layout of one quantized linear layer (AutoGPTQ / GPTQModel / transformers, v1
// "gptq" checkpoint format) and its conversion from and to GroupQuantizedMatrix. Torch-free.
//   qweight (K * bits / 32, N) int32: codes packed along the input dimension, code k of column n in
//           word k / (32 / bits), bits [bits * (k % (32 / bits)), ...) from the least significant bit;
//   qzeros  (K / g, N * bits / 32) int32: zero points packed the same way along the output dimension,
//           stored as zero point - 1 in v1 ("gptq"), as the zero point itself in v2 ("gptq_v2");
//   scales  (K / g, N) float16;  g_idx (K) int32, the group of each input column (k / g here).
// Codes are unsigned: 8-bit code = int8 value + 128, so symmetric zero points are 2^(bits-1).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/group_quantized.h"

namespace stepwise {

struct GptqTensors {
  int bits = 4;
  int64_t in_features = 0, out_features = 0, groups = 0;
  std::vector<int32_t> qweight;  // (K * bits / 32, N)
  std::vector<int32_t> qzeros;   // (G, N * bits / 32)
  std::vector<uint16_t> scales;  // (G, N) float16 bits
  std::vector<int32_t> g_idx;    // (K)
};

enum class GptqZeroFormat { kV1, kV2 };  // zero point - 1 stored ("gptq"), or the zero point ("gptq_v2")

// Packs `matrix` (in_features a multiple of 32 / bits; out_features too). v1 requires zero points >= 1.
GptqTensors pack_gptq(const GroupQuantizedMatrix& matrix, GptqZeroFormat format);

// Unpacks tensors whose shapes were checked against (K, N, G) already. Errors name `where` (the layer)
// for an act-order g_idx, non-finite scales, or 8-bit zero points other than 128. A v1 4-bit zero
// point stored as 15 reads as 16, as the published dequantizers compute it (z - 1 = -1 wrapped: a
// zero point of 0 written by AutoGPTQ), so 4-bit zero_points lie in 1..16 for v1 and 0..15 for v2.
GroupQuantizedMatrix unpack_gptq(const GptqTensors& tensors, int64_t group_size, GptqZeroFormat format,
                                 const std::string& where);

}  // namespace stepwise
