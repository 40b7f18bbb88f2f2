// The plain C++ path of kernels::matmul(): for each output feature, its weights dequantized to float32,
// then one float32 dot product per row of x, summed in k order. Compiled without instruction-set flags.
#include <algorithm>
#include <vector>

#include "core/kernels/kernel_paths.h"

namespace stepwise::kernels::detail {

void matmul_reference(const PackedWeight& weight, const PaddedRows& x, float* y, int64_t y_stride,
                      int64_t panel_begin, int64_t panel_end) {
  const int64_t in_features = weight.in_features;
  const int64_t n_end = std::min(panel_end * kPanelWidth, weight.out_features);
  std::vector<float> row(static_cast<size_t>(in_features));  // W[n][0..K) in float32
  for (int64_t n = panel_begin * kPanelWidth; n < n_end; ++n) {
    for (int64_t k = 0; k < in_features; ++k) row[static_cast<size_t>(k)] = weight.weight_at(n, k);
    for (int64_t m = 0; m < x.rows; ++m) {
      const float* input = x.f32 + m * x.stride;
      float sum = 0.0f;
      for (int64_t k = 0; k < in_features; ++k) sum += input[k] * row[static_cast<size_t>(k)];
      y[m * y_stride + n] = sum;
    }
  }
}

float stream_sum_reference(const float* values, int64_t count) {
  float sums[8] = {};
  int64_t i = 0;
  for (; i + 8 <= count; i += 8)
    for (int lane = 0; lane < 8; ++lane) sums[lane] += values[i + lane];
  for (; i < count; ++i) sums[0] += values[i];
  float total = 0.0f;
  for (float sum : sums) total += sum;
  return total;
}

}  // namespace stepwise::kernels::detail
