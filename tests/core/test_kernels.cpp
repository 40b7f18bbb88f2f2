// core/kernels against an independent float64 product of the same dequantized weights, on every code path
// (reference, AVX2, AVX-512) in turn; a path this CPU cannot execute is skipped with the reason. Also exact
// properties (a row's result does not depend on M or on the panel range), packing round trips, and the
// errors for bad shapes and bad STEPWISE_KERNELS values. Torch-free.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/kernels/kernels.h"
#include "tests/support/numeric_bounds.h"

namespace stepwise::kernels {
namespace {

// ---- independent helpers (not the library's conversions) ----

uint16_t bfloat16_bits_truncated(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return static_cast<uint16_t>(bits >> 16);
}

double bfloat16_value(uint16_t bits) {
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &wide, sizeof value);
  return value;
}

// A normal float16 with the given sign, unbiased exponent and 10-bit mantissa, and its exact value.
struct Half {
  uint16_t bits;
  float value;
};
Half make_half(int exponent, int mantissa) {
  return {static_cast<uint16_t>(((exponent + 15) << 10) | mantissa),
          static_cast<float>(std::ldexp(1.0 + mantissa / 1024.0, exponent))};
}

// One test problem: weights in the packer's input form, their dequantized float32 values, and x.
struct Problem {
  WeightFormat format = WeightFormat::kBFloat16;
  int64_t n = 0, k = 0, m = 0, group = 0;
  bool zero_points = false, half_scales = false;
  ElementType x_type = ElementType::kFloat32;
  std::vector<uint16_t> bf16;      // (N, K)
  std::vector<int8_t> int8;        // (N, K)
  std::vector<uint8_t> int4;       // (N, K / 2)
  std::vector<float> scales;       // (N, K / group)
  std::vector<uint16_t> scales16;  // (N, K / group) float16 bits
  std::vector<uint8_t> zeros;      // (N, K / group)
  std::vector<float> dequantized;  // (N, K): what the product must use
  std::vector<float> x_f32;        // (M, K) as given
  std::vector<uint16_t> x_bf16;    // (M, K) as given
  std::vector<double> x_value;     // (M, K): the value of x the product must use
};

Problem make_problem(std::mt19937& rng, WeightFormat format, int64_t n, int64_t k, int64_t m, int64_t group,
                     bool zero_points, bool half_scales, ElementType x_type) {
  Problem p;
  p.format = format;
  p.n = n, p.k = k, p.m = m, p.group = group;
  p.zero_points = zero_points, p.half_scales = half_scales, p.x_type = x_type;
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> byte(0, 255), nibble(0, 15), mantissa(0, 1023), exponent(-10, -5);
  p.dequantized.resize(static_cast<size_t>(n * k));
  const int64_t groups = group > 0 ? k / group : 0;
  if (format != WeightFormat::kBFloat16) {
    for (int64_t i = 0; i < n * groups; ++i) {
      if (half_scales) {
        const Half h = make_half(exponent(rng), mantissa(rng));
        p.scales16.push_back(h.bits);
        p.scales.push_back(h.value);
      } else {
        p.scales.push_back(std::abs(normal(rng)) * 0.05f + 1e-3f);
      }
      p.zeros.push_back(static_cast<uint8_t>(nibble(rng)));
    }
  }
  switch (format) {
    case WeightFormat::kBFloat16:
      for (int64_t i = 0; i < n * k; ++i) {
        p.bf16.push_back(bfloat16_bits_truncated(normal(rng)));
        p.dequantized[static_cast<size_t>(i)] = static_cast<float>(bfloat16_value(p.bf16.back()));
      }
      break;
    case WeightFormat::kInt8:
      for (int64_t i = 0; i < n * k; ++i) {
        p.int8.push_back(static_cast<int8_t>(byte(rng) - 128));
        const float scale = p.scales[static_cast<size_t>((i / k) * groups + (i % k) / group)];
        p.dequantized[static_cast<size_t>(i)] = static_cast<float>(p.int8.back()) * scale;  // one float32 rounding
      }
      break;
    case WeightFormat::kInt4:
      for (int64_t i = 0; i < n * k / 2; ++i) p.int4.push_back(static_cast<uint8_t>(byte(rng)));
      for (int64_t row = 0; row < n; ++row) {
        for (int64_t col = 0; col < k; ++col) {
          const uint8_t packed = p.int4[static_cast<size_t>(row * (k / 2) + col / 2)];
          const int q = col % 2 == 0 ? packed & 0x0f : packed >> 4;
          const size_t g = static_cast<size_t>(row * groups + col / group);
          const int zero = zero_points ? p.zeros[g] : 8;
          p.dequantized[static_cast<size_t>(row * k + col)] = static_cast<float>(q - zero) * p.scales[g];
        }
      }
      break;
  }
  for (int64_t i = 0; i < m * k; ++i) {
    const float value = normal(rng);
    p.x_f32.push_back(value);
    p.x_bf16.push_back(bfloat16_bits_truncated(value));
    p.x_value.push_back(x_type == ElementType::kFloat32 ? value : bfloat16_value(p.x_bf16.back()));
  }
  return p;
}

PackedWeight pack(const Problem& p) {
  const ScaleMatrix scales{p.half_scales ? static_cast<const void*>(p.scales16.data()) : p.scales.data(),
                           p.half_scales ? ElementType::kFloat16 : ElementType::kFloat32, p.n, p.group > 0 ? p.k / p.group : 0};
  switch (p.format) {
    case WeightFormat::kBFloat16: return pack_bfloat16(p.bf16.data(), p.n, p.k, "w");
    case WeightFormat::kInt8: return pack_int8(p.int8.data(), p.n, p.k, p.group, scales, "w");
    case WeightFormat::kInt4:
      return pack_int4(p.int4.data(), p.n, p.k, p.group, scales, p.zero_points ? p.zeros.data() : nullptr, p.n,
                       p.k / p.group, "w");
  }
  return {};
}

std::vector<float> run(const PackedWeight& weight, const Problem& p, Isa isa, int64_t rows, int64_t first_row,
                       int64_t panel_begin, int64_t panel_end) {
  std::vector<float> y(static_cast<size_t>(rows * p.n), -12345.0f);
  Activations x;
  x.type = p.x_type;
  x.data = p.x_type == ElementType::kFloat32 ? static_cast<const void*>(p.x_f32.data() + first_row * p.k)
                                             : static_cast<const void*>(p.x_bf16.data() + first_row * p.k);
  x.rows = rows;
  x.stride = p.k;
  matmul(weight, x, y.data(), p.n, panel_begin, panel_end, isa);
  return y;
}

// Compares a path's product with the float64 product of the same dequantized weights and x values.
// Each path forms every product x*w exactly (FMA, or vdpbf16ps on bfloat16 operands) or with one float32
// rounding (reference), then adds K of them in float32 in some order: by Higham 3.1 the result is within
// gamma_(K+1) * sum|x_k w_k| of the exact value, and gamma_(K+1) <= K * eps for K >= 1, i.e.
// float32_bound(sum|x_k w_k|, K) from tests/support/numeric_bounds.h. The AVX-512 int8 / int4 paths with
// bfloat16 x and the AVX2 int8 / int4 paths (float32 x, FMA) instead sum q * x or (q - z) * x, exactly
// multiplied, over each group (g additions), then add scale * partial once per group (K / g fused roundings), and the dequantized weight they are compared with is itself q * scale
// rounded once (relative u): at most (g + K / g + 2) u <= K * eps (K >= g >= 32) relative to the same sum,
// inside the same bound. (vdpbf16ps flushes subnormals; the random operands are far from that range.)
void expect_matches_float64(const Problem& p, const std::vector<float>& y, const std::string& what) {
  int64_t failures = 0;
  for (int64_t row = 0; row < p.m; ++row) {
    for (int64_t col = 0; col < p.n; ++col) {
      double exact = 0.0, magnitude = 0.0;
      for (int64_t i = 0; i < p.k; ++i) {
        const double term = p.x_value[static_cast<size_t>(row * p.k + i)] * p.dequantized[static_cast<size_t>(col * p.k + i)];
        exact += term;
        magnitude += std::abs(term);
      }
      const double bound = testing::float32_bound(magnitude, p.k);
      const double got = y[static_cast<size_t>(row * p.n + col)];
      if (!(std::abs(got - exact) <= bound) && ++failures <= 3) {
        ADD_FAILURE() << what << ": y[" << row << "][" << col << "] = " << got << ", float64 " << exact
                      << ", difference " << std::abs(got - exact) << " > bound " << bound;
      }
    }
  }
  EXPECT_EQ(failures, 0) << what;
}

std::string describe(const Problem& p, Isa isa) {
  return std::string(isa_name(isa)) + " " + format_name(p.format) + " N=" + std::to_string(p.n) +
         " K=" + std::to_string(p.k) + " M=" + std::to_string(p.m) + " group=" + std::to_string(p.group) +
         (p.zero_points ? " zeros" : "") + (p.half_scales ? " fp16-scales" : "") +
         (p.x_type == ElementType::kBFloat16 ? " x=bf16" : " x=f32");
}

class KernelPath : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    if (!isa_supported(GetParam())) {
      GTEST_SKIP() << "this CPU (or OS) cannot execute the " << isa_name(GetParam())
                   << " path: it needs " << (GetParam() == Isa::kAvx2 ? "AVX2 + FMA" : "AVX512F/BW/VL + AVX512-BF16");
    }
  }
};

// Random shapes: N from 1 to 50 (partial panels, a single output), K odd, prime and not a multiple of the
// 2-element pair or 32-element vector, M from 1 to 17 (beyond the 8-row / 4-row register tiles).
TEST_P(KernelPath, BFloat16MatchesFloat64Product) {
  std::mt19937 rng(11);
  const int64_t ns[] = {1, 7, 16, 17, 50};
  const int64_t ks[] = {1, 2, 3, 31, 97, 130};
  for (ElementType x_type : {ElementType::kFloat32, ElementType::kBFloat16}) {
    for (int64_t n : ns) {
      for (int64_t k : ks) {
        const int64_t m = 1 + static_cast<int64_t>(rng() % 17);
        const Problem p = make_problem(rng, WeightFormat::kBFloat16, n, k, m, 0, false, false, x_type);
        const PackedWeight weight = pack(p);
        expect_matches_float64(p, run(weight, p, GetParam(), m, 0, 0, weight.panels()), describe(p, GetParam()));
      }
    }
  }
}

TEST_P(KernelPath, Int8MatchesFloat64Product) {
  std::mt19937 rng(12);
  for (int64_t group : {32, 64, 128}) {
    for (int64_t n : {1, 17, 49}) {
      for (int64_t groups : {1, 3}) {
        for (bool half_scales : {false, true}) {
          const int64_t m = 1 + static_cast<int64_t>(rng() % 17);
          const ElementType x_type = rng() % 2 == 0 ? ElementType::kFloat32 : ElementType::kBFloat16;
          const Problem p = make_problem(rng, WeightFormat::kInt8, n, group * groups, m, group, false, half_scales, x_type);
          const PackedWeight weight = pack(p);
          expect_matches_float64(p, run(weight, p, GetParam(), m, 0, 0, weight.panels()), describe(p, GetParam()));
        }
      }
    }
  }
}

TEST_P(KernelPath, Int4MatchesFloat64Product) {
  std::mt19937 rng(13);
  for (int64_t group : {32, 64, 128}) {
    for (int64_t n : {1, 17, 49}) {
      for (int64_t groups : {1, 3}) {
        for (bool zero_points : {false, true}) {
          const int64_t m = 1 + static_cast<int64_t>(rng() % 17);
          const ElementType x_type = rng() % 2 == 0 ? ElementType::kFloat32 : ElementType::kBFloat16;
          const bool half_scales = rng() % 2 == 0;
          const Problem p = make_problem(rng, WeightFormat::kInt4, n, group * groups, m, group, zero_points, half_scales, x_type);
          const PackedWeight weight = pack(p);
          expect_matches_float64(p, run(weight, p, GetParam(), m, 0, 0, weight.panels()), describe(p, GetParam()));
        }
      }
    }
  }
}

// Exact property: within one path a row's outputs are the same operations whatever the other rows and the
// panel range, so one row alone, or the panels split at any point, give bit-identical results.
TEST_P(KernelPath, RowsAndPanelRangesDoNotChangeTheResult) {
  std::mt19937 rng(14);
  struct Case {
    WeightFormat format;
    int64_t group;
    ElementType x_type;
    bool zero_points;
  };
  // Every format and x type, int4 with and without zero points (its two bfloat16-x conversions).
  const ElementType f32 = ElementType::kFloat32, bf16 = ElementType::kBFloat16;
  for (const Case& c : {Case{WeightFormat::kBFloat16, 0, bf16, false}, Case{WeightFormat::kBFloat16, 0, f32, false},
                        Case{WeightFormat::kInt8, 32, bf16, false}, Case{WeightFormat::kInt8, 64, f32, false},
                        Case{WeightFormat::kInt4, 64, f32, true}, Case{WeightFormat::kInt4, 32, bf16, true},
                        Case{WeightFormat::kInt4, 128, bf16, false}, Case{WeightFormat::kInt4, 32, f32, false}}) {
    const int64_t n = 16 * 7 + 5, k = c.group > 0 ? 2 * c.group : 67, m = 16;
    const Problem p = make_problem(rng, c.format, n, k, m, c.group, c.zero_points, false, c.x_type);
    const PackedWeight weight = pack(p);
    const std::vector<float> all = run(weight, p, GetParam(), m, 0, 0, weight.panels());
    for (int64_t row : {0, 5, 8, 15}) {
      const std::vector<float> alone = run(weight, p, GetParam(), 1, row, 0, weight.panels());
      for (int64_t col = 0; col < n; ++col)
        ASSERT_EQ(alone[static_cast<size_t>(col)], all[static_cast<size_t>(row * n + col)])
            << describe(p, GetParam()) << " row " << row << " col " << col;
    }
    // Rows 4.. in tiles of other sizes (3 rows; 9 = a full 8-row tile and one more).
    for (int64_t count : {3, 9}) {
      const std::vector<float> part = run(weight, p, GetParam(), count, 4, 0, weight.panels());
      for (int64_t row = 0; row < count; ++row)
        for (int64_t col = 0; col < n; ++col)
          ASSERT_EQ(part[static_cast<size_t>(row * n + col)], all[static_cast<size_t>((4 + row) * n + col)])
              << describe(p, GetParam()) << " rows " << count << " row " << row << " col " << col;
    }
    for (int64_t split : {1, 2, 4, 7}) {
      std::vector<float> first = run(weight, p, GetParam(), m, 0, 0, split);
      const std::vector<float> second = run(weight, p, GetParam(), m, 0, split, weight.panels());
      for (int64_t row = 0; row < m; ++row) {
        for (int64_t col = 0; col < n; ++col) {
          const size_t at = static_cast<size_t>(row * n + col);
          const float expected = col < split * kPanelWidth ? first[at] : second[at];
          ASSERT_EQ(expected, all[at]) << describe(p, GetParam()) << " split " << split;
          // Columns outside the range are not written.
          ASSERT_EQ(col < split * kPanelWidth ? second[at] : first[at], -12345.0f);
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Paths, KernelPath, ::testing::Values(Isa::kReference, Isa::kAvx2, Isa::kAvx512),
                         [](const ::testing::TestParamInfo<Isa>& info) { return std::string(isa_name(info.param)); });

// ---- packing and dispatch, independent of the path ----

TEST(KernelPacking, WeightAtReadsBackEveryFormat) {
  std::mt19937 rng(15);
  for (WeightFormat format : {WeightFormat::kBFloat16, WeightFormat::kInt8, WeightFormat::kInt4}) {
    const int64_t group = format == WeightFormat::kBFloat16 ? 0 : 32;
    const Problem p = make_problem(rng, format, 21, format == WeightFormat::kBFloat16 ? 45 : 64, 1, group,
                                   format == WeightFormat::kInt4, true, ElementType::kFloat32);
    const PackedWeight weight = pack(p);
    EXPECT_EQ(weight.panels(), 2);
    for (int64_t row = 0; row < p.n; ++row)
      for (int64_t col = 0; col < p.k; ++col)
        ASSERT_EQ(weight.weight_at(row, col), p.dequantized[static_cast<size_t>(row * p.k + col)])
            << format_name(format) << " (" << row << ", " << col << ")";
  }
}

TEST(KernelPacking, Float16ScalesAndBFloat16RoundingAreExact) {
  EXPECT_EQ(float16_to_float(0x3c00), 1.0f);
  EXPECT_EQ(float16_to_float(0xc000), -2.0f);
  EXPECT_EQ(float16_to_float(0x0001), static_cast<float>(std::ldexp(1.0, -24)));  // smallest subnormal
  EXPECT_EQ(float16_to_float(0x7bff), 65504.0f);
  EXPECT_TRUE(std::isinf(float16_to_float(0x7c00)));
  EXPECT_EQ(float_to_bfloat16(1.0f), 0x3f80);
  EXPECT_EQ(float_to_bfloat16(1.0f + 1.0f / 256.0f), 0x3f80);            // tie to even, down
  EXPECT_EQ(float_to_bfloat16(1.0f + 3.0f / 256.0f), 0x3f82);            // tie to even, up
  EXPECT_EQ(bfloat16_to_float(0x4049), 3.140625f);
}

template <typename Call>
void expect_error_naming(Call call, const std::string& fragment) {
  try {
    call();
    ADD_FAILURE() << "expected an error containing '" << fragment << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(KernelPacking, BadShapesAreErrorsNamingTheTensor) {
  const std::vector<int8_t> values(64 * 100, 1);
  const std::vector<uint8_t> nibbles(64 * 50, 0x11);
  const std::vector<float> scales(64 * 4, 1.0f);
  const std::vector<uint8_t> zeros(64 * 4, 3), bad_zeros(64 * 2, 16);
  expect_error_naming([&] { pack_int8(values.data(), 64, 100, 32, {scales.data(), ElementType::kFloat32, 64, 3}, "layers.0.up"); },
                      "group size 32 does not divide the in-features 100");
  expect_error_naming([&] { pack_int8(values.data(), 64, 96, 48, {scales.data(), ElementType::kFloat32, 64, 2}, "layers.0.up"); },
                      "'layers.0.up': group size 48 is not one of");
  expect_error_naming([&] { pack_int8(values.data(), 64, 96, 32, {scales.data(), ElementType::kFloat32, 64, 4}, "layers.0.up"); },
                      "scales of int8 weight 'layers.0.up' are (64, 4), expected (64, 3)");
  expect_error_naming([&] { pack_int4(nibbles.data(), 64, 64, 32, {scales.data(), ElementType::kFloat32, 32, 2}, nullptr, 0, 0, "head"); },
                      "scales of int4 weight 'head' are (32, 2), expected (64, 2)");
  expect_error_naming([&] { pack_int4(nibbles.data(), 64, 64, 32, {scales.data(), ElementType::kFloat32, 64, 2}, zeros.data(), 64, 4, "head"); },
                      "zero points of int4 weight 'head' are (64, 4), expected (64, 2)");
  expect_error_naming([&] { pack_int4(nibbles.data(), 64, 64, 32, {scales.data(), ElementType::kFloat32, 64, 2}, bad_zeros.data(), 64, 2, "head"); },
                      "zero point 16 of int4 weight 'head' at (0, 0) is not in 0..15");
  expect_error_naming([&] { pack_int8(values.data(), 64, 96, 32, {scales.data(), ElementType::kBFloat16, 64, 3}, "w"); },
                      "must be float32 or float16");
  expect_error_naming([&] { pack_bfloat16(nullptr, 4, 4, "lm_head"); }, "bfloat16 weight 'lm_head': no data");
  const std::vector<uint16_t> bf16(16, 0);
  expect_error_naming([&] { pack_bfloat16(bf16.data(), 0, 16, "lm_head"); }, "'lm_head': shape (0, 16) is empty");
}

TEST(KernelDispatch, ChoosesTheBestSupportedPathOrTheNamedOne) {
  const std::vector<Isa> supported = supported_isas();
  ASSERT_FALSE(supported.empty());
  EXPECT_EQ(supported.front(), Isa::kReference);
  EXPECT_EQ(choose_isa(nullptr), supported.back());
  EXPECT_EQ(choose_isa(""), supported.back());
  EXPECT_EQ(choose_isa("reference"), Isa::kReference);
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
    if (isa_supported(isa)) {
      EXPECT_EQ(choose_isa(isa_name(isa)), isa);
    } else {
      expect_error_naming([&] { choose_isa(isa_name(isa)); }, "this CPU cannot run that path");
    }
  }
  expect_error_naming([] { choose_isa("avx1024"); }, "STEPWISE_KERNELS=avx1024: expected reference, avx2 or avx512");
}

TEST(KernelDispatch, MatmulRejectsOutOfRangePanels) {
  const std::vector<uint16_t> bf16(20 * 8, 0x3f80);
  const PackedWeight weight = pack_bfloat16(bf16.data(), 20, 8, "w");
  const std::vector<float> x(8, 1.0f);
  std::vector<float> y(20);
  expect_error_naming([&] { matmul(weight, {x.data(), ElementType::kFloat32, 1, 8}, y.data(), 20, 0, 3, Isa::kReference); },
                      "panels [0, 3) outside [0, 2)");
  expect_error_naming([&] { matmul(weight, {x.data(), ElementType::kFloat32, 1, 4}, y.data(), 20, 0, 2, Isa::kReference); },
                      "row strides");
}

}  // namespace
}  // namespace stepwise::kernels
