// The AVX-512 path of kernels::matmul() (compiled with -mavx512f -mavx512bw -mavx512vl -mavx512bf16 -mfma).
// bfloat16 weights are read row-major: a register tile holds up to 4 rows of x times 6 output features
// or up to 8 rows times 3, one zmm accumulator each over 32 (16) consecutive k, summed to one float at
// the end:
//   bfloat16 weights, bfloat16 x: vdpbf16ps on 32 k (products exact, float32 sums);
//   bfloat16 weights, float32 x:  16 weights widened to float32 (exact), one FMA.
// For int8 / int4 panels a register tile holds up to kTileRows rows of x times kTilePanels panels of 16
// output features, one zmm float32 accumulator each; every weight vector loaded feeds all rows of the tile.
//   int8 / int4, bfloat16 x: q (int8) or q - z (int4), exact in bfloat16, against x with vdpbf16ps into a
//                per-group partial sum (the tile's 24 partial sums in registers, the scaled totals in an
//                L1 array), scaled once per group; the next tile's weights are prefetched meanwhile;
//   int8 / int4, float32 x: weights dequantized in registers exactly as PackedWeight::weight_at, then FMA.
// Panels are visited in groups of kTilePanels (the remainder one at a time) and rows in tiles, so each
// output is the same sequence of operations for any M and panel range.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "core/kernels/kernel_paths.h"

namespace stepwise::kernels::detail {
namespace {

constexpr int kTileRows = 8;
constexpr int kTilePanels = 3;

struct Tile {
  const PackedWeight* weight;
  const void* x;    // first row of the tile (float32 or bfloat16 padded rows)
  int64_t x_stride;
  int64_t panel;    // first panel of the tile
  float* y;         // first row of the tile, column 0
  int64_t y_stride;
};

inline void store(const Tile& t, int m, int p, __m512 value) {
  const int64_t column = (t.panel + p) * kPanelWidth;
  const int64_t valid = std::min<int64_t>(kPanelWidth, t.weight->out_features - column);
  float* out = t.y + m * t.y_stride + column;
  if (valid == kPanelWidth) {
    _mm512_storeu_ps(out, value);
  } else {
    _mm512_mask_storeu_ps(out, static_cast<__mmask16>((1u << valid) - 1u), value);
  }
}

inline const uint8_t* panel_data(const Tile& t, int p) {
  return t.weight->data.get() + (t.panel + p) * t.weight->panel_bytes;
}

// bfloat16 weights are kept row-major (N, K) as the model holds them (PackedWeight::rows): a tile is
// MR rows of x times R features; each accumulator sums one feature against one row of x over vectors of
// 32 consecutive k (a masked vector for the last K mod 32), reduced to one float at the end.
struct RowTile {
  const PackedWeight* weight;
  const void* x;    // first row of the tile (float32 or bfloat16 padded rows)
  int64_t x_stride;
  int64_t feature;  // first output feature of the tile
  float* y;         // first row of the tile, column 0
  int64_t y_stride;
};

// Row r of the tile's weights is streamed 64 bytes at a time; the same bytes of row r of the next tile
// (R rows further) are prefetched meanwhile. Without it the interleaved streams of the R rows read
// at about two thirds of the rate of one contiguous stream. A prefetch past the matrix is harmless.
inline void prefetch_next_tile(const uint16_t* w, int64_t in_features, int tile_rows, int r, int64_t k) {
  const uintptr_t at = reinterpret_cast<uintptr_t>(w) + static_cast<uintptr_t>(((tile_rows + r) * in_features + k) * 2);
  _mm_prefetch(reinterpret_cast<const char*>(at), _MM_HINT_T0);
}

// bfloat16 x: vdpbf16ps on 32 k (16 pairs) per step.
struct BFloat16RowsDot {
  template <int MR, int R>
  static void run(const RowTile& t) {
    const int64_t in_features = t.weight->in_features;
    const auto* w = reinterpret_cast<const uint16_t*>(t.weight->weight_data()) + t.feature * in_features;
    const auto* x = static_cast<const uint16_t*>(t.x);
    __m512 acc[MR][R];
    for (int m = 0; m < MR; ++m)
      for (int r = 0; r < R; ++r) acc[m][r] = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + 32 <= in_features; k += 32) {
      __m512bh wv[R];
      for (int r = 0; r < R; ++r) {
        prefetch_next_tile(w, in_features, R, r, k);
        wv[r] = (__m512bh)_mm512_loadu_si512(w + r * in_features + k);
      }
      for (int m = 0; m < MR; ++m) {
        const __m512bh xv = (__m512bh)_mm512_loadu_si512(x + m * t.x_stride + k);
        for (int r = 0; r < R; ++r) acc[m][r] = _mm512_dpbf16_ps(acc[m][r], wv[r], xv);
      }
    }
    if (k < in_features) {
      const __mmask32 tail = static_cast<__mmask32>((uint64_t{1} << (in_features - k)) - 1);
      __m512bh wv[R];
      for (int r = 0; r < R; ++r) wv[r] = (__m512bh)_mm512_maskz_loadu_epi16(tail, w + r * in_features + k);
      for (int m = 0; m < MR; ++m) {
        const __m512bh xv = (__m512bh)_mm512_maskz_loadu_epi16(tail, x + m * t.x_stride + k);
        for (int r = 0; r < R; ++r) acc[m][r] = _mm512_dpbf16_ps(acc[m][r], wv[r], xv);
      }
    }
    for (int m = 0; m < MR; ++m)
      for (int r = 0; r < R; ++r) t.y[m * t.y_stride + t.feature + r] = _mm512_reduce_add_ps(acc[m][r]);
  }
};

// float32 x: 16 k per step, the weights widened to float32 (exact), FMA.
struct BFloat16RowsFma {
  template <int MR, int R>
  static void run(const RowTile& t) {
    const int64_t in_features = t.weight->in_features;
    const auto* w = reinterpret_cast<const uint16_t*>(t.weight->weight_data()) + t.feature * in_features;
    const auto* x = static_cast<const float*>(t.x);
    __m512 acc[MR][R];
    for (int m = 0; m < MR; ++m)
      for (int r = 0; r < R; ++r) acc[m][r] = _mm512_setzero_ps();
    for (int64_t k = 0; k < in_features; k += 16) {
      const __mmask16 valid = in_features - k >= 16 ? static_cast<__mmask16>(0xffff)
                                                    : static_cast<__mmask16>((1u << (in_features - k)) - 1u);
      __m512 wv[R];
      for (int r = 0; r < R; ++r) {
        if (k % 32 == 0) prefetch_next_tile(w, in_features, R, r, k);
        const __m256i bits = _mm256_maskz_loadu_epi16(valid, w + r * in_features + k);
        wv[r] = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(bits), 16));
      }
      for (int m = 0; m < MR; ++m) {
        const __m512 xv = _mm512_maskz_loadu_ps(valid, x + m * t.x_stride + k);
        for (int r = 0; r < R; ++r) acc[m][r] = _mm512_fmadd_ps(wv[r], xv, acc[m][r]);
      }
    }
    for (int m = 0; m < MR; ++m)
      for (int r = 0; r < R; ++r) t.y[m * t.y_stride + t.feature + r] = _mm512_reduce_add_ps(acc[m][r]);
  }
};

struct Int8Fma {
  template <int MR, int P>
  static void run(const Tile& t) {
    const PackedWeight& weight = *t.weight;
    const int64_t groups = weight.groups(), group_size = weight.group_size;
    const auto* x = static_cast<const float*>(t.x);
    const uint8_t* base[P];
    const float* scales[P];
    for (int p = 0; p < P; ++p) {
      base[p] = panel_data(t, p);
      scales[p] = weight.scales.data() + (t.panel + p) * groups * kPanelWidth;
    }
    __m512 acc[MR][P];
    for (int m = 0; m < MR; ++m)
      for (int p = 0; p < P; ++p) acc[m][p] = _mm512_setzero_ps();
    for (int64_t g = 0; g < groups; ++g) {
      __m512 scale[P];
      for (int p = 0; p < P; ++p) scale[p] = _mm512_loadu_ps(scales[p] + g * kPanelWidth);
      for (int64_t k = g * group_size; k < (g + 1) * group_size; ++k) {
        __m512 w[P];  // dequantized W[n][k], q * scale
        for (int p = 0; p < P; ++p) {
          const __m128i q = _mm_load_si128(reinterpret_cast<const __m128i*>(base[p] + k * kPanelWidth));
          w[p] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)), scale[p]);
        }
        for (int m = 0; m < MR; ++m) {
          const __m512 xv = _mm512_set1_ps(x[m * t.x_stride + k]);
          for (int p = 0; p < P; ++p) acc[m][p] = _mm512_fmadd_ps(w[p], xv, acc[m][p]);
        }
      }
    }
    for (int m = 0; m < MR; ++m)
      for (int p = 0; p < P; ++p) store(t, m, p, acc[m][p]);
  }
};

struct Int4Fma {
  template <int MR, int P>
  static void run(const Tile& t) {
    const PackedWeight& weight = *t.weight;
    const int64_t groups = weight.groups(), group_pairs = weight.group_size / 2;
    const auto* x = static_cast<const float*>(t.x);
    const uint8_t* base[P];
    const float* scales[P];
    const float* zeros[P];
    for (int p = 0; p < P; ++p) {
      base[p] = panel_data(t, p);
      scales[p] = weight.scales.data() + (t.panel + p) * groups * kPanelWidth;
      zeros[p] = weight.zero_offsets.empty() ? nullptr : weight.zero_offsets.data() + (t.panel + p) * groups * kPanelWidth;
    }
    const __m512 symmetric = _mm512_set1_ps(8388616.0f);  // 2^23 + 8: z = 8 without zero points
    const __m512i low_nibble = _mm512_set1_epi32(0x0f);
    const __m512i exponent = _mm512_set1_epi32(0x4b000000);  // float 2^23: bits | q = 2^23 + q
    __m512 acc[MR][P];
    for (int m = 0; m < MR; ++m)
      for (int p = 0; p < P; ++p) acc[m][p] = _mm512_setzero_ps();
    for (int64_t g = 0; g < groups; ++g) {
      __m512 scale[P], zero[P];
      for (int p = 0; p < P; ++p) {
        scale[p] = _mm512_loadu_ps(scales[p] + g * kPanelWidth);
        zero[p] = zeros[p] != nullptr ? _mm512_loadu_ps(zeros[p] + g * kPanelWidth) : symmetric;
      }
      for (int64_t pair = g * group_pairs; pair < (g + 1) * group_pairs; ++pair) {
        __m512 even[P], odd[P];  // dequantized W[n][2 pair], W[n][2 pair + 1]: (q - z) * scale
        for (int p = 0; p < P; ++p) {
          const __m128i bytes = _mm_load_si128(reinterpret_cast<const __m128i*>(base[p] + pair * kPanelWidth));
          const __m512i wide = _mm512_cvtepu8_epi32(bytes);
          const __m512 low = _mm512_castsi512_ps(_mm512_or_si512(_mm512_and_si512(wide, low_nibble), exponent));
          const __m512 high = _mm512_castsi512_ps(_mm512_or_si512(_mm512_srli_epi32(wide, 4), exponent));
          even[p] = _mm512_mul_ps(_mm512_sub_ps(low, zero[p]), scale[p]);
          odd[p] = _mm512_mul_ps(_mm512_sub_ps(high, zero[p]), scale[p]);
        }
        for (int m = 0; m < MR; ++m) {
          const __m512 x0 = _mm512_set1_ps(x[m * t.x_stride + 2 * pair]);
          const __m512 x1 = _mm512_set1_ps(x[m * t.x_stride + 2 * pair + 1]);
          for (int p = 0; p < P; ++p) {
            acc[m][p] = _mm512_fmadd_ps(even[p], x0, acc[m][p]);
            acc[m][p] = _mm512_fmadd_ps(odd[p], x1, acc[m][p]);
          }
        }
      }
    }
    for (int m = 0; m < MR; ++m)
      for (int p = 0; p < P; ++p) store(t, m, p, acc[m][p]);
  }
};

// Word order that turns [W[n][k] for 16 n | W[n][k + 1] for 16 n] into 16 interleaved (k, k + 1) pairs.
inline __m512i pair_interleave() {
  alignas(64) int16_t index[32];
  for (int i = 0; i < 32; ++i) index[i] = static_cast<int16_t>(i % 2 == 0 ? i / 2 : 16 + i / 2);
  return _mm512_load_si512(index);
}

// Two vectors of small integers held exactly as float32 (W[n][k], W[n][k + 1]) -> bfloat16 pairs.
inline __m512bh to_bfloat16_pairs(__m512 even, __m512 odd, __m512i interleave) {
  return (__m512bh)_mm512_permutexvar_epi16(interleave, (__m512i)_mm512_cvtne2ps_pbh(odd, even));
}

// The weights of the next tile start P panels further on: each 64-byte line of a panel is prefetched
// there one tile ahead, as the bfloat16 row kernels do. A prefetch past the matrix is harmless.
template <int P>
inline void prefetch_next_panels(const uint8_t* const* base, int64_t panel_bytes, int64_t offset) {
  for (int p = 0; p < P; ++p) _mm_prefetch(reinterpret_cast<const char*>(base[p] + P * panel_bytes + offset), _MM_HINT_T0);
}

// Per-group partial sums of a quantized tile: partial[m][p] sums q * x over one group in zmm registers,
// then acc[m][p] += partial[m][p] * scale once per group. The acc values live in a float array (stack,
// L1-resident), so a tile of 8 rows x 3 panels keeps all 24 partial sums in registers; the weights of a
// group are converted to bfloat16 once and feed every row of the tile.
template <int MR, int P>
struct PartialSums {
  alignas(64) float acc[MR][P][kPanelWidth] = {};

  void add_group(const __m512 (&partial)[MR][P], const float* const* scales, int64_t group) {
    for (int p = 0; p < P; ++p) {
      const __m512 scale = _mm512_loadu_ps(scales[p] + group * kPanelWidth);
      for (int m = 0; m < MR; ++m)
        _mm512_store_ps(acc[m][p], _mm512_fmadd_ps(partial[m][p], scale, _mm512_load_ps(acc[m][p])));
    }
  }
  void store_all(const Tile& t) const {
    for (int m = 0; m < MR; ++m)
      for (int p = 0; p < P; ++p) store(t, m, p, _mm512_load_ps(acc[m][p]));
  }
};

// int8 weights, bfloat16 x: q (exact in bfloat16) against x with vdpbf16ps into a per-group partial sum,
// then acc += partial * scale once per group (PartialSums).
struct Int8Dot {
  template <int MR, int P>
  static void run(const Tile& t) {
    const PackedWeight& weight = *t.weight;
    const int64_t groups = weight.groups(), group_pairs = weight.group_size / 2;
    const auto* x = static_cast<const uint16_t*>(t.x);
    const uint8_t* base[P];
    const float* scales[P];
    for (int p = 0; p < P; ++p) {
      base[p] = panel_data(t, p);
      scales[p] = weight.scales.data() + (t.panel + p) * groups * kPanelWidth;
    }
    PartialSums<MR, P> sums;
    constexpr int kPairsPerLine = 64 / (2 * kPanelWidth);  // 32 bytes of a panel per pair
    for (int64_t g = 0; g < groups; ++g) {
      __m512 partial[MR][P];  // sum over the group of q * x
      for (int m = 0; m < MR; ++m)
        for (int p = 0; p < P; ++p) partial[m][p] = _mm512_setzero_ps();
      for (int64_t line = g * group_pairs; line < (g + 1) * group_pairs; line += kPairsPerLine) {
        prefetch_next_panels<P>(base, weight.panel_bytes, 2 * line * kPanelWidth);
        for (int64_t pair = line; pair < line + kPairsPerLine; ++pair) {
          __m512bh w[P];
          for (int p = 0; p < P; ++p) {
            // W[n][2 pair] and W[n][2 pair + 1] bytes interleaved per feature (features 0..7, then 8..15),
            // widened to float32 (exact), then rounded (exactly) to bfloat16 pairs in feature order.
            const uint8_t* at = base[p] + 2 * pair * kPanelWidth;
            const __m128i even = _mm_load_si128(reinterpret_cast<const __m128i*>(at));
            const __m128i odd = _mm_load_si128(reinterpret_cast<const __m128i*>(at + kPanelWidth));
            const __m512 low = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_unpacklo_epi8(even, odd)));
            const __m512 high = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_unpackhi_epi8(even, odd)));
            w[p] = (__m512bh)_mm512_cvtne2ps_pbh(high, low);
          }
          for (int m = 0; m < MR; ++m) {
            int32_t both;
            std::memcpy(&both, x + m * t.x_stride + 2 * pair, sizeof both);
            const __m512bh xv = (__m512bh)_mm512_set1_epi32(both);
            for (int p = 0; p < P; ++p) partial[m][p] = _mm512_dpbf16_ps(partial[m][p], w[p], xv);
          }
        }
      }
      sums.add_group(partial, scales, g);
    }
    sums.store_all(t);
  }
};

// bfloat16 bit patterns of q - 8 for q = 0..15 in words 0..15 (symmetric int4; words 16..31 unused).
inline __m512i symmetric_int4_table() {
  alignas(64) uint16_t words[32] = {};
  for (int q = 0; q < 16; ++q) {
    const float value = static_cast<float>(q - 8);
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    words[q] = static_cast<uint16_t>(bits >> 16);  // exact: a small integer
  }
  return _mm512_load_si512(words);
}

// int4 weights, bfloat16 x: q - z (an integer in [-15, 15], exact in bfloat16) against x with vdpbf16ps
// into a per-group partial sum, then acc += partial * scale once per group. Symmetric weights (z = 8)
// are turned into bfloat16 pairs by one table lookup (vpermw) on their nibbles, others through float32.
struct Int4Dot {
  template <int MR, int P>
  static void run(const Tile& t) {
    if (t.weight->zero_offsets.empty()) {
      run_group_sums<MR, P, true>(t);
    } else {
      run_group_sums<MR, P, false>(t);
    }
  }

  template <int MR, int P, bool kSymmetric>
  static void run_group_sums(const Tile& t) {
    const PackedWeight& weight = *t.weight;
    const int64_t groups = weight.groups(), group_pairs = weight.group_size / 2;
    const auto* x = static_cast<const uint16_t*>(t.x);
    const uint8_t* base[P];
    const float* scales[P];
    const float* zeros[P];
    for (int p = 0; p < P; ++p) {
      base[p] = panel_data(t, p);
      scales[p] = weight.scales.data() + (t.panel + p) * groups * kPanelWidth;
      zeros[p] = kSymmetric ? nullptr : weight.zero_offsets.data() + (t.panel + p) * groups * kPanelWidth;
    }
    const __m512i interleave = pair_interleave();
    const __m512i low_nibble = _mm512_set1_epi32(0x0f);
    const __m512 offset_base = _mm512_set1_ps(8388608.0f);  // zero offsets are 2^23 + z
    const __m512i table = symmetric_int4_table();
    const __m512i both_nibbles = _mm512_set1_epi32(0x000f000f);
    PartialSums<MR, P> sums;
    constexpr int kPairsPerLine = 64 / kPanelWidth;  // 16 bytes of a panel per pair
    for (int64_t g = 0; g < groups; ++g) {
      __m512i zero[P];
      for (int p = 0; p < P; ++p)
        zero[p] = kSymmetric
                      ? _mm512_set1_epi32(8)
                      : _mm512_cvtps_epi32(_mm512_sub_ps(_mm512_loadu_ps(zeros[p] + g * kPanelWidth), offset_base));
      __m512 partial[MR][P];  // sum over the group of (q - z) * x
      for (int m = 0; m < MR; ++m)
        for (int p = 0; p < P; ++p) partial[m][p] = _mm512_setzero_ps();
      for (int64_t line = g * group_pairs; line < (g + 1) * group_pairs; line += kPairsPerLine) {
        prefetch_next_panels<P>(base, weight.panel_bytes, line * kPanelWidth);
        for (int64_t pair = line; pair < line + kPairsPerLine; ++pair) {
          __m512bh w[P];
          for (int p = 0; p < P; ++p) {
            const __m512i wide =
                _mm512_cvtepu8_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(base[p] + pair * kPanelWidth)));
            if (kSymmetric) {
              // Per feature, word 0 = the low nibble (k even), word 1 = the high nibble: (wide | wide << 12) & mask.
              const __m512i index = _mm512_ternarylogic_epi32(wide, _mm512_slli_epi32(wide, 12), both_nibbles, 0xa8);
              w[p] = (__m512bh)_mm512_permutexvar_epi16(index, table);
            } else {
              const __m512 even = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_and_si512(wide, low_nibble), zero[p]));
              const __m512 odd = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_srli_epi32(wide, 4), zero[p]));
              w[p] = to_bfloat16_pairs(even, odd, interleave);
            }
          }
          for (int m = 0; m < MR; ++m) {
            int32_t both;
            std::memcpy(&both, x + m * t.x_stride + 2 * pair, sizeof both);
            const __m512bh xv = (__m512bh)_mm512_set1_epi32(both);
            for (int p = 0; p < P; ++p) partial[m][p] = _mm512_dpbf16_ps(partial[m][p], w[p], xv);
          }
        }
      }
      sums.add_group(partial, scales, g);
    }
    sums.store_all(t);
  }
};

template <class Kernel, int P>
void run_rows(int rows, const Tile& t) {
  switch (rows) {
    case 1: Kernel::template run<1, P>(t); break;
    case 2: Kernel::template run<2, P>(t); break;
    case 3: Kernel::template run<3, P>(t); break;
    case 4: Kernel::template run<4, P>(t); break;
    case 5: Kernel::template run<5, P>(t); break;
    case 6: Kernel::template run<6, P>(t); break;
    case 7: Kernel::template run<7, P>(t); break;
    default: Kernel::template run<8, P>(t); break;
  }
}

template <class Kernel>
void drive(const PackedWeight& weight, const void* x, int64_t element_bytes, const PaddedRows& rows, float* y,
           int64_t y_stride, int64_t panel_begin, int64_t panel_end) {
  for (int64_t panel = panel_begin; panel < panel_end;) {
    const bool group = panel_end - panel >= kTilePanels;
    for (int64_t row = 0; row < rows.rows; row += kTileRows) {
      const Tile tile{&weight, static_cast<const uint8_t*>(x) + row * rows.stride * element_bytes, rows.stride,
                      panel, y + row * y_stride, y_stride};
      const int count = static_cast<int>(std::min<int64_t>(kTileRows, rows.rows - row));
      if (group) {
        run_rows<Kernel, kTilePanels>(count, tile);
      } else {
        run_rows<Kernel, 1>(count, tile);
      }
    }
    panel += group ? kTilePanels : 1;
  }
}

template <class Kernel, int R>
void run_row_tile(int rows, const RowTile& t) {
  switch (rows) {
    case 1: Kernel::template run<1, R>(t); break;
    case 2: Kernel::template run<2, R>(t); break;
    case 3: Kernel::template run<3, R>(t); break;
    case 4: Kernel::template run<4, R>(t); break;
    case 5: Kernel::template run<5, R>(t); break;
    case 6: Kernel::template run<6, R>(t); break;
    case 7: Kernel::template run<7, R>(t); break;
    default: Kernel::template run<8, R>(t); break;
  }
}

// Features of panels [panel_begin, panel_end) in tiles of R (the remainder one at a time), rows of x in
// tiles of 8: R = 6 weight rows for up to 4 rows of x, 3 for more (24 accumulators at most). Every output
// is the same sequence of operations whatever the tile it falls in.
template <class Kernel>
void drive_rows(const PackedWeight& weight, const void* x, int64_t element_bytes, const PaddedRows& rows, float* y,
                int64_t y_stride, int64_t panel_begin, int64_t panel_end) {
  constexpr int kRows = 8;
  const int features = rows.rows <= 4 ? 6 : 3;
  const int64_t end = std::min(panel_end * kPanelWidth, weight.out_features);
  for (int64_t feature = panel_begin * kPanelWidth; feature < end;) {
    const bool group = end - feature >= features;
    for (int64_t row = 0; row < rows.rows; row += kRows) {
      const RowTile tile{&weight, static_cast<const uint8_t*>(x) + row * rows.stride * element_bytes, rows.stride,
                         feature, y + row * y_stride, y_stride};
      const int count = static_cast<int>(std::min<int64_t>(kRows, rows.rows - row));
      if (!group) {
        run_row_tile<Kernel, 1>(count, tile);
      } else if (features == 6) {
        run_row_tile<Kernel, 6>(count, tile);
      } else {
        run_row_tile<Kernel, 3>(count, tile);
      }
    }
    feature += group ? features : 1;
  }
}

}  // namespace

void matmul_avx512(const PackedWeight& weight, const PaddedRows& x, float* y, int64_t y_stride,
                   int64_t panel_begin, int64_t panel_end) {
  switch (weight.format) {
    case WeightFormat::kBFloat16:
      if (x.bf16 != nullptr) {
        drive_rows<BFloat16RowsDot>(weight, x.bf16, 2, x, y, y_stride, panel_begin, panel_end);
      } else {
        drive_rows<BFloat16RowsFma>(weight, x.f32, 4, x, y, y_stride, panel_begin, panel_end);
      }
      break;
    case WeightFormat::kInt8:
      if (x.bf16 != nullptr) {
        drive<Int8Dot>(weight, x.bf16, 2, x, y, y_stride, panel_begin, panel_end);
      } else {
        drive<Int8Fma>(weight, x.f32, 4, x, y, y_stride, panel_begin, panel_end);
      }
      break;
    case WeightFormat::kInt4:
      if (x.bf16 != nullptr) {
        drive<Int4Dot>(weight, x.bf16, 2, x, y, y_stride, panel_begin, panel_end);
      } else {
        drive<Int4Fma>(weight, x.f32, 4, x, y, y_stride, panel_begin, panel_end);
      }
      break;
  }
}

float stream_sum_avx512(const float* values, int64_t count) {
  constexpr int kAccumulators = 8;
  __m512 acc[kAccumulators];
  for (auto& a : acc) a = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 16 * kAccumulators <= count; i += 16 * kAccumulators)
    for (int a = 0; a < kAccumulators; ++a) acc[a] = _mm512_add_ps(acc[a], _mm512_loadu_ps(values + i + 16 * a));
  float total = 0.0f;
  for (; i < count; ++i) total += values[i];
  for (int a = 1; a < kAccumulators; ++a) acc[0] = _mm512_add_ps(acc[0], acc[a]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, acc[0]);
  for (float lane : lanes) total += lane;
  return total;
}

}  // namespace stepwise::kernels::detail
