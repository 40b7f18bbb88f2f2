// The AVX2 / FMA path of kernels::matmul() (compiled with -mavx2 -mfma -mf16c). bfloat16 weights are read
// row-major, two features at a time against up to kTileRows rows of x, the next tile's rows prefetched
// meanwhile, widened to float32 (exact) and FMA'd. For int8 / int4 a 16-feature panel is two ymm halves
// and a register tile holds up to kTileRows rows of x times one panel (the next panel prefetched): q or
// q - z, exact in float32, FMA'd against x into a partial sum per group, scaled once per group. Every
// weight vector loaded feeds all rows of the tile. Each output is the same sequence of operations for any
// M and panel range.
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

// The same 64-byte line of the next panel (the next tile's weights), prefetched while this one is read.
// A prefetch past the matrix is harmless.
inline void prefetch_next_panel(const Tile& t, const uint8_t* at) {
  _mm_prefetch(reinterpret_cast<const char*>(at + t.weight->panel_bytes), _MM_HINT_T0);
}

inline float horizontal_sum(__m256 v) {
  const __m128 half = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 quarter = _mm_add_ps(half, _mm_movehl_ps(half, half));
  return _mm_cvtss_f32(_mm_add_ss(quarter, _mm_movehdup_ps(quarter)));
}

// Row r of a bfloat16 tile is streamed 64 bytes at a time; the same bytes of row r of the next tile (R
// rows further) are prefetched meanwhile, as on the AVX-512 path. A prefetch past the matrix is harmless.
inline void prefetch_next_tile(const uint16_t* w, int64_t in_features, int tile_rows, int r, int64_t k) {
  const uintptr_t at = reinterpret_cast<uintptr_t>(w) + static_cast<uintptr_t>(((tile_rows + r) * in_features + k) * 2);
  _mm_prefetch(reinterpret_cast<const char*>(at), _MM_HINT_T0);
}

// bfloat16 weights, row-major: a tile is MR rows of x times R features, one accumulator each over 16
// consecutive k (two FMAs of 8, the weights widened to float32 exactly); the last K mod 16 weights
// and x values come from zero-padded copies. Each accumulator is summed to one float at the end.
struct BFloat16RowsFma {
  template <int MR, int R>
  static void run(const PackedWeight& weight, const float* x, int64_t x_stride, int64_t feature, float* y,
                  int64_t y_stride) {
    const int64_t in_features = weight.in_features;
    const auto* w = reinterpret_cast<const uint16_t*>(weight.weight_data()) + feature * in_features;
    __m256 acc[MR][R];
    for (int m = 0; m < MR; ++m)
      for (int r = 0; r < R; ++r) acc[m][r] = _mm256_setzero_ps();
    auto step = [&](const uint16_t* const* rows, const float* const* xs) {
      __m256 low[R], high[R];
      for (int r = 0; r < R; ++r) {
        const __m256i bits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows[r]));
        low[r] = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm256_castsi256_si128(bits)), 16));
        high[r] = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm256_extracti128_si256(bits, 1)), 16));
      }
      for (int m = 0; m < MR; ++m) {
        const __m256 x0 = _mm256_loadu_ps(xs[m]), x1 = _mm256_loadu_ps(xs[m] + 8);
        for (int r = 0; r < R; ++r) {
          acc[m][r] = _mm256_fmadd_ps(low[r], x0, acc[m][r]);
          acc[m][r] = _mm256_fmadd_ps(high[r], x1, acc[m][r]);
        }
      }
    };
    const uint16_t* rows[R];
    const float* xs[MR];
    int64_t k = 0;
    for (; k + 16 <= in_features; k += 16) {
      for (int r = 0; r < R; ++r) {
        rows[r] = w + r * in_features + k;
        if (k % 32 == 0) prefetch_next_tile(w, in_features, R, r, k);
      }
      for (int m = 0; m < MR; ++m) xs[m] = x + m * x_stride + k;
      step(rows, xs);
    }
    if (k < in_features) {
      alignas(32) uint16_t w_tail[R][16] = {};
      alignas(32) float x_tail[MR][16] = {};
      for (int r = 0; r < R; ++r) {
        for (int64_t i = k; i < in_features; ++i) w_tail[r][i - k] = w[r * in_features + i];
        rows[r] = w_tail[r];
      }
      for (int m = 0; m < MR; ++m) {
        for (int64_t i = k; i < in_features; ++i) x_tail[m][i - k] = x[m * x_stride + i];
        xs[m] = x_tail[m];
      }
      step(rows, xs);
    }
    for (int m = 0; m < MR; ++m)
      for (int r = 0; r < R; ++r) y[m * y_stride + feature + r] = horizontal_sum(acc[m][r]);
  }
};

template <int R>
void bfloat16_rows_tile(int rows, const PackedWeight& weight, const float* x, int64_t x_stride, int64_t feature,
                        float* y, int64_t y_stride) {
  switch (rows) {
    case 1: BFloat16RowsFma::run<1, R>(weight, x, x_stride, feature, y, y_stride); break;
    case 2: BFloat16RowsFma::run<2, R>(weight, x, x_stride, feature, y, y_stride); break;
    case 3: BFloat16RowsFma::run<3, R>(weight, x, x_stride, feature, y, y_stride); break;
    default: BFloat16RowsFma::run<4, R>(weight, x, x_stride, feature, y, y_stride); break;
  }
}

// Features of panels [panel_begin, panel_end) in pairs (the remainder alone), rows in tiles of kTileRows.
void drive_bfloat16_rows(const PackedWeight& weight, const PaddedRows& x, float* y, int64_t y_stride,
                         int64_t panel_begin, int64_t panel_end) {
  constexpr int kFeatures = 2;
  const int64_t end = std::min(panel_end * kPanelWidth, weight.out_features);
  for (int64_t feature = panel_begin * kPanelWidth; feature < end;) {
    const bool pair = end - feature >= kFeatures;
    for (int64_t row = 0; row < x.rows; row += kTileRows) {
      const int count = static_cast<int>(std::min<int64_t>(kTileRows, x.rows - row));
      if (pair) {
        bfloat16_rows_tile<kFeatures>(count, weight, x.f32 + row * x.stride, x.stride, feature, y + row * y_stride, y_stride);
      } else {
        bfloat16_rows_tile<1>(count, weight, x.f32 + row * x.stride, x.stride, feature, y + row * y_stride, y_stride);
      }
    }
    feature += pair ? kFeatures : 1;
  }
}

// Per-group partial sums of a quantized tile: partial[m][h] sums q * x (int8) or (q - z) * x (int4) over
// one group in ymm registers, the weights exact small integers in float32; then acc[m][h] += partial *
// scale once per group. The acc values live in a float array (stack, L1-resident), so the registers hold
// the tile's 8 partial sums, the weights and x; no multiply by the scale per weight.
template <int MR>
struct PartialSums {
  alignas(32) float acc[MR][kPanelWidth] = {};

  void add_group(const __m256 (&partial)[MR][2], const float* scales) {
    const __m256 scale[2] = {_mm256_loadu_ps(scales), _mm256_loadu_ps(scales + 8)};
    for (int m = 0; m < MR; ++m)
      for (int h = 0; h < 2; ++h)
        _mm256_store_ps(acc[m] + 8 * h, _mm256_fmadd_ps(partial[m][h], scale[h], _mm256_load_ps(acc[m] + 8 * h)));
  }
  void store_all(const Tile& t) const {
    for (int m = 0; m < MR; ++m) store(t, m, _mm256_load_ps(acc[m]), _mm256_load_ps(acc[m] + 8));
  }
};

struct Int8Fma {
  template <int MR>
  static void run(const Tile& t) {
    const PackedWeight& weight = *t.weight;
    const int64_t groups = weight.groups(), group_size = weight.group_size;
    const uint8_t* base = panel_data(t);
    const float* scales = weight.scales.data() + t.panel * groups * kPanelWidth;
    PartialSums<MR> sums;
    for (int64_t g = 0; g < groups; ++g) {
      __m256 partial[MR][2];  // sum over the group of q * x
      for (int m = 0; m < MR; ++m) partial[m][0] = partial[m][1] = _mm256_setzero_ps();
      for (int64_t k = g * group_size; k < (g + 1) * group_size; ++k) {
        if (k % 4 == 0) prefetch_next_panel(t, base + k * kPanelWidth);  // 16 bytes per k
        __m256 w[2];  // q of W[n][k], exact in float32
        for (int h = 0; h < 2; ++h) {
          const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(base + k * kPanelWidth + h * 8));
          w[h] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q));
        }
        for (int m = 0; m < MR; ++m) {
          const __m256 xv = _mm256_broadcast_ss(t.x + m * t.x_stride + k);
          for (int h = 0; h < 2; ++h) partial[m][h] = _mm256_fmadd_ps(w[h], xv, partial[m][h]);
        }
      }
      sums.add_group(partial, scales + g * kPanelWidth);
    }
    sums.store_all(t);
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
    PartialSums<MR> sums;
    for (int64_t g = 0; g < groups; ++g) {
      const __m256 zero[2] = {zeros != nullptr ? _mm256_loadu_ps(zeros + g * kPanelWidth) : symmetric,
                              zeros != nullptr ? _mm256_loadu_ps(zeros + g * kPanelWidth + 8) : symmetric};
      __m256 partial[MR][2];  // sum over the group of (q - z) * x
      for (int m = 0; m < MR; ++m) partial[m][0] = partial[m][1] = _mm256_setzero_ps();
      for (int64_t pair = g * group_pairs; pair < (g + 1) * group_pairs; ++pair) {
        if (pair % 4 == 0) prefetch_next_panel(t, base + pair * kPanelWidth);  // 16 bytes per pair
        __m256 even[2], odd[2];  // q - z of W[n][2 pair], W[n][2 pair + 1], exact in float32
        for (int h = 0; h < 2; ++h) {
          const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(base + pair * kPanelWidth + h * 8));
          const __m256i wide = _mm256_cvtepu8_epi32(bytes);
          const __m256 low = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(wide, low_nibble), exponent));
          const __m256 high = _mm256_castsi256_ps(_mm256_or_si256(_mm256_srli_epi32(wide, 4), exponent));
          even[h] = _mm256_sub_ps(low, zero[h]);
          odd[h] = _mm256_sub_ps(high, zero[h]);
        }
        for (int m = 0; m < MR; ++m) {
          const __m256 x0 = _mm256_broadcast_ss(t.x + m * t.x_stride + 2 * pair);
          const __m256 x1 = _mm256_broadcast_ss(t.x + m * t.x_stride + 2 * pair + 1);
          for (int h = 0; h < 2; ++h) {
            partial[m][h] = _mm256_fmadd_ps(even[h], x0, partial[m][h]);
            partial[m][h] = _mm256_fmadd_ps(odd[h], x1, partial[m][h]);
          }
        }
      }
      sums.add_group(partial, scales + g * kPanelWidth);
    }
    sums.store_all(t);
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
    case WeightFormat::kBFloat16: drive_bfloat16_rows(weight, x, y, y_stride, panel_begin, panel_end); break;
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
