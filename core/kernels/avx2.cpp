// The AVX2 / FMA path of kernels::matmul() (compiled with -mavx2 -mfma -mf16c). A 16-feature panel is two
// ymm halves; a register tile holds up to kTileRows rows of x times one panel, and every weight vector
// loaded feeds all rows of the tile. Weights are widened or dequantized to float32 in registers exactly as
// PackedWeight::weight_at does, then multiplied and added with FMA. Each output is the same sequence of
// operations for any M and panel range.
#include <immintrin.h>

#include <algorithm>

#include "core/kernels/kernel_paths.h"

namespace stepwise::kernels::detail {
namespace {

constexpr int kTileRows = 4;

struct Tile {
  const PackedWeight* weight;
  const float* x;  // first row of the tile
  int64_t x_stride;
  int64_t panel;
  float* y;        // first row of the tile, column 0
  int64_t y_stride;
};

inline void store(const Tile& t, int m, const __m256 low, const __m256 high) {
  const int64_t column = t.panel * kPanelWidth;
  const int64_t valid = std::min<int64_t>(kPanelWidth, t.weight->out_features - column);
  float* out = t.y + m * t.y_stride + column;
  if (valid == kPanelWidth) {
    _mm256_storeu_ps(out, low);
    _mm256_storeu_ps(out + 8, high);
    return;
  }
  alignas(32) float lanes[kPanelWidth];
  _mm256_store_ps(lanes, low);
  _mm256_store_ps(lanes + 8, high);
  for (int64_t i = 0; i < valid; ++i) out[i] = lanes[i];
}

inline const uint8_t* panel_data(const Tile& t) { return t.weight->data.get() + t.panel * t.weight->panel_bytes; }

struct BFloat16Fma {
  template <int MR>
  static void run(const Tile& t) {
    const int64_t pairs = padded_in_features(t.weight->in_features) / 2;
    const uint8_t* base = panel_data(t);
    const __m256i high_half = _mm256_set1_epi32(static_cast<int32_t>(0xffff0000u));
    __m256 acc[MR][2];
    for (int m = 0; m < MR; ++m) acc[m][0] = acc[m][1] = _mm256_setzero_ps();
    for (int64_t pair = 0; pair < pairs; ++pair) {
      __m256 even[2], odd[2];  // W[n][2 pair], W[n][2 pair + 1] for features 0..7 and 8..15
      for (int h = 0; h < 2; ++h) {
        const __m256i w = _mm256_load_si256(reinterpret_cast<const __m256i*>(base + pair * 64 + h * 32));
        even[h] = _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
        odd[h] = _mm256_castsi256_ps(_mm256_and_si256(w, high_half));
      }
      for (int m = 0; m < MR; ++m) {
        const __m256 x0 = _mm256_broadcast_ss(t.x + m * t.x_stride + 2 * pair);
        const __m256 x1 = _mm256_broadcast_ss(t.x + m * t.x_stride + 2 * pair + 1);
        for (int h = 0; h < 2; ++h) {
          acc[m][h] = _mm256_fmadd_ps(even[h], x0, acc[m][h]);
          acc[m][h] = _mm256_fmadd_ps(odd[h], x1, acc[m][h]);
        }
      }
    }
    for (int m = 0; m < MR; ++m) store(t, m, acc[m][0], acc[m][1]);
  }
};

struct Int8Fma {
  template <int MR>
  static void run(const Tile& t) {
    const PackedWeight& weight = *t.weight;
    const int64_t groups = weight.groups(), group_size = weight.group_size;
    const uint8_t* base = panel_data(t);
    const float* scales = weight.scales.data() + t.panel * groups * kPanelWidth;
    __m256 acc[MR][2];
    for (int m = 0; m < MR; ++m) acc[m][0] = acc[m][1] = _mm256_setzero_ps();
    for (int64_t g = 0; g < groups; ++g) {
      const __m256 scale[2] = {_mm256_loadu_ps(scales + g * kPanelWidth), _mm256_loadu_ps(scales + g * kPanelWidth + 8)};
      for (int64_t k = g * group_size; k < (g + 1) * group_size; ++k) {
        __m256 w[2];  // dequantized W[n][k], q * scale
        for (int h = 0; h < 2; ++h) {
          const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(base + k * kPanelWidth + h * 8));
          w[h] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)), scale[h]);
        }
        for (int m = 0; m < MR; ++m) {
          const __m256 xv = _mm256_broadcast_ss(t.x + m * t.x_stride + k);
          for (int h = 0; h < 2; ++h) acc[m][h] = _mm256_fmadd_ps(w[h], xv, acc[m][h]);
        }
      }
    }
    for (int m = 0; m < MR; ++m) store(t, m, acc[m][0], acc[m][1]);
  }
};

struct Int4Fma {
  template <int MR>
  static void run(const Tile& t) {
    const PackedWeight& weight = *t.weight;
    const int64_t groups = weight.groups(), group_pairs = weight.group_size / 2;
    const uint8_t* base = panel_data(t);
    const float* scales = weight.scales.data() + t.panel * groups * kPanelWidth;
    const float* zeros = weight.zero_offsets.empty() ? nullptr : weight.zero_offsets.data() + t.panel * groups * kPanelWidth;
    const __m256 symmetric = _mm256_set1_ps(8388616.0f);  // 2^23 + 8: z = 8 without zero points
    const __m256i low_nibble = _mm256_set1_epi32(0x0f);
    const __m256i exponent = _mm256_set1_epi32(0x4b000000);  // float 2^23: bits | q = 2^23 + q
    __m256 acc[MR][2];
    for (int m = 0; m < MR; ++m) acc[m][0] = acc[m][1] = _mm256_setzero_ps();
    for (int64_t g = 0; g < groups; ++g) {
      const __m256 scale[2] = {_mm256_loadu_ps(scales + g * kPanelWidth), _mm256_loadu_ps(scales + g * kPanelWidth + 8)};
      const __m256 zero[2] = {zeros != nullptr ? _mm256_loadu_ps(zeros + g * kPanelWidth) : symmetric,
                              zeros != nullptr ? _mm256_loadu_ps(zeros + g * kPanelWidth + 8) : symmetric};
      for (int64_t pair = g * group_pairs; pair < (g + 1) * group_pairs; ++pair) {
        __m256 even[2], odd[2];  // dequantized W[n][2 pair], W[n][2 pair + 1]: (q - z) * scale
        for (int h = 0; h < 2; ++h) {
          const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(base + pair * kPanelWidth + h * 8));
          const __m256i wide = _mm256_cvtepu8_epi32(bytes);
          const __m256 low = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(wide, low_nibble), exponent));
          const __m256 high = _mm256_castsi256_ps(_mm256_or_si256(_mm256_srli_epi32(wide, 4), exponent));
          even[h] = _mm256_mul_ps(_mm256_sub_ps(low, zero[h]), scale[h]);
          odd[h] = _mm256_mul_ps(_mm256_sub_ps(high, zero[h]), scale[h]);
        }
        for (int m = 0; m < MR; ++m) {
          const __m256 x0 = _mm256_broadcast_ss(t.x + m * t.x_stride + 2 * pair);
          const __m256 x1 = _mm256_broadcast_ss(t.x + m * t.x_stride + 2 * pair + 1);
          for (int h = 0; h < 2; ++h) {
            acc[m][h] = _mm256_fmadd_ps(even[h], x0, acc[m][h]);
            acc[m][h] = _mm256_fmadd_ps(odd[h], x1, acc[m][h]);
          }
        }
      }
    }
    for (int m = 0; m < MR; ++m) store(t, m, acc[m][0], acc[m][1]);
  }
};

template <class Kernel>
void drive(const PackedWeight& weight, const PaddedRows& x, float* y, int64_t y_stride, int64_t panel_begin,
           int64_t panel_end) {
  for (int64_t panel = panel_begin; panel < panel_end; ++panel) {
    for (int64_t row = 0; row < x.rows; row += kTileRows) {
      const Tile tile{&weight, x.f32 + row * x.stride, x.stride, panel, y + row * y_stride, y_stride};
      switch (std::min<int64_t>(kTileRows, x.rows - row)) {
        case 1: Kernel::template run<1>(tile); break;
        case 2: Kernel::template run<2>(tile); break;
        case 3: Kernel::template run<3>(tile); break;
        default: Kernel::template run<4>(tile); break;
      }
    }
  }
}

}  // namespace

void matmul_avx2(const PackedWeight& weight, const PaddedRows& x, float* y, int64_t y_stride, int64_t panel_begin,
                 int64_t panel_end) {
  switch (weight.format) {
    case WeightFormat::kBFloat16: drive<BFloat16Fma>(weight, x, y, y_stride, panel_begin, panel_end); break;
    case WeightFormat::kInt8: drive<Int8Fma>(weight, x, y, y_stride, panel_begin, panel_end); break;
    case WeightFormat::kInt4: drive<Int4Fma>(weight, x, y, y_stride, panel_begin, panel_end); break;
  }
}

float stream_sum_avx2(const float* values, int64_t count) {
  constexpr int kAccumulators = 8;
  __m256 acc[kAccumulators];
  for (auto& a : acc) a = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 * kAccumulators <= count; i += 8 * kAccumulators)
    for (int a = 0; a < kAccumulators; ++a) acc[a] = _mm256_add_ps(acc[a], _mm256_loadu_ps(values + i + 8 * a));
  float total = 0.0f;
  for (; i < count; ++i) total += values[i];
  for (int a = 1; a < kAccumulators; ++a) acc[0] = _mm256_add_ps(acc[0], acc[a]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, acc[0]);
  for (float lane : lanes) total += lane;
  return total;
}

}  // namespace stepwise::kernels::detail
