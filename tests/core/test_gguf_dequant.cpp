// ggml block decoding against values worked out by hand from the block layouts of ggml-common.h:
// each test builds one block with chosen scales and quants and states the elements they must give.
// Also half / bfloat16 rounding at its edge cases and the Q8_0 / Q4_0 reference quantizers.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/gguf_dequant.h"

namespace stepwise {
namespace {

constexpr uint16_t kHalfOne = 0x3C00, kHalfHalf = 0x3800, kHalfTwo = 0x4000, kHalfQuarter = 0x3400;
constexpr uint16_t kHalfMinusOne = 0xBC00;

void put_half(std::vector<uint8_t>& block, size_t at, uint16_t bits) {
  block[at] = static_cast<uint8_t>(bits & 0xFF);
  block[at + 1] = static_cast<uint8_t>(bits >> 8);
}

std::vector<float> decode(GgmlType type, const std::vector<uint8_t>& block) {
  EXPECT_EQ(static_cast<int64_t>(block.size()), ggml_block_bytes(type));
  std::vector<float> out(static_cast<size_t>(ggml_block_elements(type)));
  dequantize(type, block.data(), static_cast<int64_t>(out.size()), out.data());
  return out;
}

TEST(HalfFloat, ExactValuesAndRounding) {
  EXPECT_EQ(half_to_float(kHalfOne), 1.0f);
  EXPECT_EQ(half_to_float(0xC000), -2.0f);
  EXPECT_EQ(half_to_float(0x7BFF), 65504.0f);
  EXPECT_EQ(half_to_float(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(half_to_float(0x03FF), std::ldexp(1023.0f, -24));
  EXPECT_EQ(half_to_float(0x8000), -0.0f);
  EXPECT_TRUE(std::signbit(half_to_float(0x8000)));
  EXPECT_TRUE(std::isinf(half_to_float(0x7C00)));
  EXPECT_TRUE(std::isnan(half_to_float(0x7E00)));
  EXPECT_EQ(float_to_half(1.0f), kHalfOne);
  EXPECT_EQ(float_to_half(65504.0f), 0x7BFF);
  EXPECT_EQ(float_to_half(65519.0f), 0x7BFF);   // below the midpoint to 65536
  EXPECT_EQ(float_to_half(65520.0f), 0x7C00);   // the midpoint rounds to even: infinity
  EXPECT_EQ(float_to_half(1.0f + std::ldexp(1.0f, -11)), kHalfOne);        // tie, even stays
  EXPECT_EQ(float_to_half(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);      // tie, odd rounds up
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -25)), 0x0000);                 // half the smallest subnormal
  EXPECT_EQ(float_to_half(3 * std::ldexp(1.0f, -25)), 0x0002);             // 1.5 ulp -> 2
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -14)), 0x0400);                 // smallest normal
  EXPECT_EQ(float_to_half(-2.0f), 0xC000);
  EXPECT_EQ(float_to_half(NAN) & 0x7C00, 0x7C00);
  EXPECT_NE(float_to_half(NAN) & 0x03FF, 0);
  for (uint32_t bits = 0; bits < 0x7C00; ++bits)  // every finite half survives the round trip
    ASSERT_EQ(float_to_half(half_to_float(static_cast<uint16_t>(bits))), bits) << bits;
}

TEST(BFloat16, ExactValuesAndRounding) {
  EXPECT_EQ(bfloat16_to_float(0x3F80), 1.0f);
  EXPECT_EQ(bfloat16_to_float(0xC000), -2.0f);
  EXPECT_EQ(float_to_bfloat16(1.0f + std::ldexp(1.0f, -8)), 0x3F80);       // tie, even stays
  EXPECT_EQ(float_to_bfloat16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3F82);   // tie, odd rounds up
  EXPECT_EQ(float_to_bfloat16(1.0f + std::ldexp(1.0f, -9)), 0x3F80);
  EXPECT_TRUE(std::isnan(bfloat16_to_float(float_to_bfloat16(NAN))));
}

TEST(Dequantize, FloatTypes) {
  const float f32[2] = {1.25f, -3.0f};
  std::vector<uint8_t> bytes(8);
  std::memcpy(bytes.data(), f32, 8);
  std::vector<float> out(2);
  dequantize(GgmlType::kF32, bytes.data(), 2, out.data());
  EXPECT_EQ(out, (std::vector<float>{1.25f, -3.0f}));
  const uint8_t f16[4] = {0x00, 0x3C, 0x00, 0xC0};  // 1, -2
  dequantize(GgmlType::kF16, f16, 2, out.data());
  EXPECT_EQ(out, (std::vector<float>{1.0f, -2.0f}));
  const uint8_t bf16[4] = {0x80, 0x3F, 0x40, 0x40};  // 1, 3
  dequantize(GgmlType::kBF16, bf16, 2, out.data());
  EXPECT_EQ(out, (std::vector<float>{1.0f, 3.0f}));
}

TEST(Dequantize, Q8_0) {
  // d = 0.5, qs[j] = j - 16: element j = (j - 16) / 2.
  std::vector<uint8_t> block(34);
  put_half(block, 0, kHalfHalf);
  for (int j = 0; j < 32; ++j) block[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(j - 16));
  const auto y = decode(GgmlType::kQ8_0, block);
  EXPECT_EQ(y[0], -8.0f);
  EXPECT_EQ(y[16], 0.0f);
  EXPECT_EQ(y[31], 7.5f);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], (j - 16) * 0.5f) << j;
}

TEST(Dequantize, Q4_0) {
  // d = 2; byte j holds element j in its low nibble (value j) and element j+16 in its high one (15 - j);
  // an element is (nibble - 8) * d.
  std::vector<uint8_t> block(18);
  put_half(block, 0, kHalfTwo);
  for (int j = 0; j < 16; ++j) block[2 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const auto y = decode(GgmlType::kQ4_0, block);
  EXPECT_EQ(y[0], -16.0f);
  EXPECT_EQ(y[15], 14.0f);
  EXPECT_EQ(y[16], 14.0f);
  EXPECT_EQ(y[31], -16.0f);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], (j - 8) * 2.0f);
    EXPECT_EQ(y[j + 16], (7 - j) * 2.0f);
  }
}

TEST(Dequantize, Q4_1) {
  // d = 0.5, m = -1: element = nibble * 0.5 - 1.
  std::vector<uint8_t> block(20);
  put_half(block, 0, kHalfHalf);
  put_half(block, 2, kHalfMinusOne);
  for (int j = 0; j < 16; ++j) block[4 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const auto y = decode(GgmlType::kQ4_1, block);
  EXPECT_EQ(y[0], -1.0f);
  EXPECT_EQ(y[15], 6.5f);
  EXPECT_EQ(y[16], 6.5f);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], j * 0.5f - 1.0f);
    EXPECT_EQ(y[j + 16], (15 - j) * 0.5f - 1.0f);
  }
}

// The fifth bits: bit j of the 32-bit little-endian qh belongs to element j. Here qh = 0xF0F0'5555.
constexpr uint32_t kQh = 0xF0F05555u;
int fifth_bit(int element) { return static_cast<int>((kQh >> element) & 1u); }

TEST(Dequantize, Q5_0) {
  // d = 1; element = (nibble + 16 * fifth bit) - 16.
  std::vector<uint8_t> block(22);
  put_half(block, 0, kHalfOne);
  std::memcpy(&block[2], &kQh, 4);
  for (int j = 0; j < 16; ++j) block[6 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const auto y = decode(GgmlType::kQ5_0, block);
  EXPECT_EQ(y[0], -16.0f + 16.0f);  // bit 0 of 0x5555 set
  EXPECT_EQ(y[1], -15.0f);          // bit 1 clear
  EXPECT_EQ(y[16], 15.0f - 16.0f);  // bit 16 (0xF0F0 low nibble 0) clear
  EXPECT_EQ(y[20], 11.0f);          // nibble 11, bit 20 set: 27 - 16
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], static_cast<float>(j + 16 * fifth_bit(j) - 16));
    EXPECT_EQ(y[j + 16], static_cast<float>((15 - j) + 16 * fifth_bit(j + 16) - 16));
  }
}

TEST(Dequantize, Q5_1) {
  // d = 0.25, m = 2: element = (nibble + 16 * fifth bit) * 0.25 + 2.
  std::vector<uint8_t> block(24);
  put_half(block, 0, kHalfQuarter);
  put_half(block, 2, kHalfTwo);
  std::memcpy(&block[4], &kQh, 4);
  for (int j = 0; j < 16; ++j) block[8 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const auto y = decode(GgmlType::kQ5_1, block);
  EXPECT_EQ(y[0], 16 * 0.25f + 2.0f);
  EXPECT_EQ(y[1], 0.25f + 2.0f);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], (j + 16 * fifth_bit(j)) * 0.25f + 2.0f);
    EXPECT_EQ(y[j + 16], ((15 - j) + 16 * fifth_bit(j + 16)) * 0.25f + 2.0f);
  }
}

// K-quant super-blocks of 256: eight sub-blocks of 32 with 6-bit scales sc[s] and mins mn[s] packed in
// 12 bytes: bytes 0-3 hold sc[0..3] in their low 6 bits, bytes 4-7 mn[0..3]; bytes 8-11 hold the low
// 4 bits of sc[4..7] (low nibble) and mn[4..7] (high nibble), whose top 2 bits are the top bits of
// bytes 0-3 (scales) and 4-7 (mins).
constexpr uint8_t kSc[8] = {1, 2, 3, 4, 37, 6, 7, 8};   // sc[4] = 37 uses the top bits
constexpr uint8_t kMn[8] = {0, 2, 4, 6, 8, 10, 12, 50};  // mn[7] = 50 uses the top bits
void pack_scales(uint8_t* q) {
  for (int s = 0; s < 4; ++s) {
    q[s] = static_cast<uint8_t>(kSc[s] | ((kSc[s + 4] >> 4) << 6));
    q[s + 4] = static_cast<uint8_t>(kMn[s] | ((kMn[s + 4] >> 4) << 6));
    q[s + 8] = static_cast<uint8_t>((kSc[s + 4] & 0xF) | ((kMn[s + 4] & 0xF) << 4));
  }
}
// Element e of a Q4_K / Q5_K super-block: group g = e / 64 uses 32 bytes of nibbles; its first 32
// elements are their low nibbles (sub-block 2g), the next 32 their high nibbles (sub-block 2g+1).
// Nibbles chosen here: low = l % 16, high = 15 - l % 16, for byte l of the group.
int nibble_of(int e) {
  const int l = e % 32;
  return (e % 64) < 32 ? l % 16 : 15 - l % 16;
}

TEST(Dequantize, Q4_K) {
  std::vector<uint8_t> block(144);
  put_half(block, 0, kHalfHalf);     // d = 0.5
  put_half(block, 2, kHalfQuarter);  // dmin = 0.25
  pack_scales(&block[4]);
  for (int l = 0; l < 128; ++l) block[16 + l] = static_cast<uint8_t>((l % 16) | ((15 - l % 16) << 4));
  const auto y = decode(GgmlType::kQ4_K, block);
  EXPECT_EQ(y[0], 0.0f);                            // sub-block 0: 0.5*1*0 - 0.25*0
  EXPECT_EQ(y[32], 0.5f * 2 * 15 - 0.25f * 2);      // sub-block 1, high nibble 15
  EXPECT_EQ(y[128 + 5], 0.5f * 37 * 5 - 0.25f * 8); // sub-block 4 (scale 37), nibble 5
  EXPECT_EQ(y[255], 0.5f * 8 * 0 - 0.25f * 50);     // sub-block 7, last high nibble 0
  for (int e = 0; e < 256; ++e) {
    const int s = e / 32;
    EXPECT_EQ(y[e], 0.5f * kSc[s] * nibble_of(e) - 0.25f * kMn[s]) << e;
  }
}

TEST(Dequantize, Q5_K) {
  // As Q4_K, plus qh[32]: the fifth bit of element e (group g, byte l) is bit 2g (low nibbles) or
  // bit 2g+1 (high nibbles) of qh[l]. Chosen: qh[l] = l * 37 mod 256.
  std::vector<uint8_t> block(176);
  put_half(block, 0, kHalfHalf);
  put_half(block, 2, kHalfQuarter);
  pack_scales(&block[4]);
  for (int l = 0; l < 32; ++l) block[16 + l] = static_cast<uint8_t>(l * 37);
  for (int l = 0; l < 128; ++l) block[48 + l] = static_cast<uint8_t>((l % 16) | ((15 - l % 16) << 4));
  const auto y = decode(GgmlType::kQ5_K, block);
  // Element 33: group 0, high nibbles (bit 1), byte 1: qh[1] = 37 = 0b100101, bit 1 clear; nibble 14.
  EXPECT_EQ(y[33], 0.5f * 2 * 14 - 0.25f * 2);
  // Element 2: group 0, low nibbles (bit 0), byte 2: qh[2] = 74 = 0b1001010, bit 0 clear; nibble 2.
  EXPECT_EQ(y[2], 0.5f * 1 * 2 - 0);
  // Element 65: group 1, low nibbles (bit 2), byte 1: qh[1] = 37, bit 2 set: 1 + 16.
  EXPECT_EQ(y[65], 0.5f * 3 * 17 - 0.25f * 4);
  for (int e = 0; e < 256; ++e) {
    const int g = e / 64, l = e % 32, s = e / 32;
    const int bit = (e % 64) < 32 ? 2 * g : 2 * g + 1;
    const int q = nibble_of(e) + (((l * 37) & 0xFF) >> bit & 1) * 16;
    EXPECT_EQ(y[e], 0.5f * kSc[s] * q - 0.25f * kMn[s]) << e;
  }
}

TEST(Dequantize, Q6_K) {
  // ql[128], qh[64], scales[16] (int8), d. Elements come in two halves of 128; in half n, element
  // 32k + l (k = 0..3, l = 0..31) takes 4 low bits from ql[64n + l] (k = 0: low nibble, k = 2: high
  // nibble) or ql[64n + 32 + l] (k = 1 low, k = 3 high), 2 high bits from qh[32n + l] bits 2k..2k+1,
  // minus 32, times d * scales[8n + l/16 + 2k].
  std::vector<uint8_t> block(210);
  for (int i = 0; i < 128; ++i) block[i] = static_cast<uint8_t>(i * 7);
  for (int i = 0; i < 64; ++i) block[128 + i] = static_cast<uint8_t>(i * 13 + 5);
  for (int i = 0; i < 16; ++i) block[192 + i] = static_cast<uint8_t>(static_cast<int8_t>(i - 8));
  put_half(block, 208, kHalfHalf);
  const auto y = decode(GgmlType::kQ6_K, block);
  // Element 0: ql[0] = 0 low nibble 0, qh[0] = 5 bits 0-1 = 1: q = 16 - 32 = -16; scale[0] = -8.
  EXPECT_EQ(y[0], 0.5f * -8 * -16);
  // Element 96 + 17 (k = 3, l = 17): ql[32 + 17] = 49*7 = 343 mod 256 = 87 = 0x57, high nibble 5;
  // qh[17] = 17*13+5 = 226 = 0b11100010, bits 6-7 = 3: q = 5 + 48 - 32 = 21; scale[1 + 6] = -1.
  EXPECT_EQ(y[113], 0.5f * -1 * 21);
  for (int e = 0; e < 256; ++e) {
    const int n = e / 128, k = (e % 128) / 32, l = e % 32;
    const uint8_t low_byte = static_cast<uint8_t>((64 * n + (k % 2) * 32 + l) * 7);
    const int low = k < 2 ? (low_byte & 0xF) : (low_byte >> 4);
    const uint8_t high_byte = static_cast<uint8_t>((32 * n + l) * 13 + 5);
    const int q = (low | (((high_byte >> (2 * k)) & 3) << 4)) - 32;
    const int scale = (8 * n + l / 16 + 2 * k) - 8;
    EXPECT_EQ(y[e], 0.5f * scale * q) << e;
  }
}

TEST(Quantize, Q8_0MatchesTheReferenceRule) {
  // amax = 12.7 -> d = 0.1 (stored as half), q = round(x / d).
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = (j - 16) * 0.1f;
  x[31] = 12.7f;
  std::vector<uint8_t> block(34);
  quantize(GgmlType::kQ8_0, x.data(), 32, block.data());
  const float d = 12.7f / 127;
  EXPECT_EQ(block[0] | (block[1] << 8), float_to_half(d));
  EXPECT_EQ(static_cast<int8_t>(block[2 + 31]), 127);
  for (int j = 0; j < 31; ++j) EXPECT_EQ(static_cast<int8_t>(block[2 + j]), static_cast<int8_t>(std::round(x[j] * (1.0f / d))));
  // Zero block: d = 0, all quants 0.
  std::vector<float> zeros(32, 0.0f);
  quantize(GgmlType::kQ8_0, zeros.data(), 32, block.data());
  for (uint8_t b : block) EXPECT_EQ(b, 0);
}

TEST(Quantize, Q4_0MatchesTheReferenceRule) {
  // The largest magnitude (-4 at j = 3) maps to nibble 0: d = -4 / -8 = 0.5, q = min(15, trunc(x/d + 8.5)).
  std::vector<float> x(32, 0.0f);
  x[3] = -4.0f;
  x[5] = 3.9f;    // 7.8 + 8.5 = 16.3 -> clamped to 15
  x[20] = 1.2f;   // 2.4 + 8.5 = 10.9 -> 10
  std::vector<uint8_t> block(18);
  quantize(GgmlType::kQ4_0, x.data(), 32, block.data());
  EXPECT_EQ(block[0] | (block[1] << 8), kHalfHalf);
  EXPECT_EQ(block[2 + 3] & 0xF, 0);
  EXPECT_EQ(block[2 + 5] & 0xF, 15);
  EXPECT_EQ(block[2 + 4] >> 4, 10);  // element 20 is the high nibble of byte 4
  EXPECT_EQ(block[2 + 0] & 0xF, 8);  // zero -> 8
  const auto y = decode(GgmlType::kQ4_0, block);
  EXPECT_EQ(y[3], -4.0f);
  EXPECT_EQ(y[5], 3.5f);
  EXPECT_EQ(y[20], 1.0f);
}

}  // namespace
}  // namespace stepwise
