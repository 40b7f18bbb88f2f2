// A linear layer's weight quantized in groups along the input dimension, as the int8 / int4 CPU
// kernels and the GPTQ checkpoint layout both see it. Torch-free: quantizers and checkpoint readers
// produce it, the model consumes it. Dequantized, W[n][k] = (q - z) * s for 4 bits (z = 8 when
// symmetric, else the group's zero point) and q * s for 8 bits, with s the scale of row n's group k / g.
#pragma once

#include <cstdint>
#include <vector>

namespace stepwise {

struct GroupQuantizedMatrix {
  int bits = 4;              // 8 or 4
  int64_t out_features = 0;  // N (rows of W)
  int64_t in_features = 0;   // K (columns of W)
  int64_t group_size = 0;    // g: divides K
  bool symmetric = true;
  std::vector<int8_t> values;        // (N, K) row-major: int8 q in [-128, 127], or int4 q in 0..15
  std::vector<float> scales;         // (N, K / g)
  std::vector<uint8_t> zero_points;  // (N, K / g) for asymmetric int4; empty otherwise
};

}  // namespace stepwise
