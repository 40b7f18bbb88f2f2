// Block decoding written from the layouts in ggml's ggml-common.h and the arithmetic of the reference
// dequantize_row_* / quantize_row_*_ref functions of ggml-quants.c: each element is computed with the
// same float operations in the same order, so results are bit-identical to ggml's reference path.
#include "core/gguf_dequant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace stepwise {
namespace {

uint16_t load_u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
void store_u16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v & 0xFF);
  p[1] = static_cast<uint8_t>(v >> 8);
}

uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K super-block (12 packed bytes).
void scale_min_k4(int j, const uint8_t* q, uint8_t& scale, uint8_t& min) {
  if (j < 4) {
    scale = q[j] & 63;
    min = q[j + 4] & 63;
  } else {
    scale = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    min = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
  }
}

// Q4_0: d (f16), qs[16]; element j = (low nibble of qs[j] - 8) * d, element j+16 = (high nibble - 8) * d.
void q4_0_block(const uint8_t* b, float* y) {
  const float d = half_to_float(load_u16(b));
  const uint8_t* qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    y[j] = static_cast<float>((qs[j] & 0x0F) - 8) * d;
    y[j + 16] = static_cast<float>((qs[j] >> 4) - 8) * d;
  }
}

// Q4_1: d, m (f16), qs[16]; element = nibble * d + m.
void q4_1_block(const uint8_t* b, float* y) {
  const float d = half_to_float(load_u16(b)), m = half_to_float(load_u16(b + 2));
  const uint8_t* qs = b + 4;
  for (int j = 0; j < 16; ++j) {
    y[j] = static_cast<float>(qs[j] & 0x0F) * d + m;
    y[j + 16] = static_cast<float>(qs[j] >> 4) * d + m;
  }
}

// Q5_0: d, qh (32 high bits, little-endian), qs[16]; element = (nibble | high bit << 4) - 16, times d.
void q5_0_block(const uint8_t* b, float* y) {
  const float d = half_to_float(load_u16(b));
  uint32_t qh;
  std::memcpy(&qh, b + 2, 4);
  const uint8_t* qs = b + 6;
  for (int j = 0; j < 16; ++j) {
    const int high0 = static_cast<int>(((qh >> j) << 4) & 0x10);
    const int high1 = static_cast<int>((qh >> (j + 12)) & 0x10);
    y[j] = static_cast<float>(((qs[j] & 0x0F) | high0) - 16) * d;
    y[j + 16] = static_cast<float>(((qs[j] >> 4) | high1) - 16) * d;
  }
}

// Q5_1: d, m, qh, qs[16]; element = (nibble | high bit << 4) * d + m.
void q5_1_block(const uint8_t* b, float* y) {
  const float d = half_to_float(load_u16(b)), m = half_to_float(load_u16(b + 2));
  uint32_t qh;
  std::memcpy(&qh, b + 4, 4);
  const uint8_t* qs = b + 8;
  for (int j = 0; j < 16; ++j) {
    const int high0 = static_cast<int>(((qh >> j) << 4) & 0x10);
    const int high1 = static_cast<int>((qh >> (j + 12)) & 0x10);
    y[j] = static_cast<float>((qs[j] & 0x0F) | high0) * d + m;
    y[j + 16] = static_cast<float>((qs[j] >> 4) | high1) * d + m;
  }
}

// Q8_0: d, qs[32] int8; element = q * d.
void q8_0_block(const uint8_t* b, float* y) {
  const float d = half_to_float(load_u16(b));
  for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(static_cast<int8_t>(b[2 + j])) * d;
}

// Q4_K (256 elements): d, dmin, scales[12], qs[128]. Four groups of 64: the low nibbles of 32 bytes
// with sub-block scale/min 2g, then their high nibbles with 2g+1; element = d*scale*q - dmin*min.
void q4_k_block(const uint8_t* b, float* y) {
  const float d = half_to_float(load_u16(b)), dmin = half_to_float(load_u16(b + 2));
  const uint8_t* scales = b + 4;
  const uint8_t* q = b + 16;
  int is = 0;
  for (int j = 0; j < 256; j += 64) {
    uint8_t sc, m;
    scale_min_k4(is + 0, scales, sc, m);
    const float d1 = d * sc, m1 = dmin * m;
    scale_min_k4(is + 1, scales, sc, m);
    const float d2 = d * sc, m2 = dmin * m;
    for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
    q += 32;
    is += 2;
  }
}

// Q5_K: d, dmin, scales[12], qh[32], qs[128]; as Q4_K with a fifth bit from qh (bit 2g for the low
// nibbles of group g, bit 2g+1 for the high ones).
void q5_k_block(const uint8_t* b, float* y) {
  const float d = half_to_float(load_u16(b)), dmin = half_to_float(load_u16(b + 2));
  const uint8_t* scales = b + 4;
  const uint8_t* qh = b + 16;
  const uint8_t* ql = b + 48;
  int is = 0;
  uint8_t u1 = 1, u2 = 2;
  for (int j = 0; j < 256; j += 64) {
    uint8_t sc, m;
    scale_min_k4(is + 0, scales, sc, m);
    const float d1 = d * sc, m1 = dmin * m;
    scale_min_k4(is + 1, scales, sc, m);
    const float d2 = d * sc, m2 = dmin * m;
    for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
    ql += 32;
    is += 2;
    u1 = static_cast<uint8_t>(u1 << 2);
    u2 = static_cast<uint8_t>(u2 << 2);
  }
}

// Q6_K: ql[128] (low 4 bits), qh[64] (high 2 bits), scales[16] int8, d; two halves of 128 elements,
// each of four runs of 32; element = d * scale * (6-bit q - 32).
void q6_k_block(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
  const float d = half_to_float(load_u16(b + 208));
  for (int n = 0; n < 256; n += 128) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l + 0] = d * static_cast<float>(sc[is + 0]) * static_cast<float>(q1);
      y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
      y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
      y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

}  // namespace

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exponent = (h >> 10) & 0x1F;
  uint32_t mantissa = h & 0x3FF;
  if (exponent == 0x1F) return bits_float(sign | 0x7F800000 | (mantissa << 13));  // inf / NaN
  if (exponent == 0) {
    if (mantissa == 0) return bits_float(sign);
    // Subnormal: value = mantissa * 2^-24, exact in float32.
    const float magnitude = static_cast<float>(mantissa) * 5.9604644775390625e-08f;
    return sign ? -magnitude : magnitude;
  }
  return bits_float(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

uint16_t float_to_half(float value) {
  const uint32_t u = float_bits(value);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000);
  const uint32_t abs = u & 0x7FFFFFFF;
  if (abs > 0x7F800000) return static_cast<uint16_t>(sign | 0x7E00);  // NaN
  if (abs >= 0x477FF000) return static_cast<uint16_t>(sign | 0x7C00);  // rounds to >= 65520: infinity
  if (abs < 0x38800000) {
    // Below the smallest normal half (2^-14): subnormal, value / 2^-24 rounded to nearest even.
    const float scaled = bits_float(abs) * 16777216.0f;  // exact (power of two)
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(std::nearbyint(scaled)));
  }
  // Normal: drop 13 mantissa bits with round to nearest even (a carry into the exponent is correct).
  const uint32_t rounded = abs + 0xFFF + ((abs >> 13) & 1);
  return static_cast<uint16_t>(sign | ((rounded - (112u << 23)) >> 13));
}

float bfloat16_to_float(uint16_t bits) { return bits_float(static_cast<uint32_t>(bits) << 16); }

uint16_t float_to_bfloat16(float value) {
  const uint32_t u = float_bits(value);
  if ((u & 0x7FFFFFFF) > 0x7F800000) return static_cast<uint16_t>((u >> 16) | 64);  // quiet NaN
  return static_cast<uint16_t>((u + (0x7FFF + ((u >> 16) & 1))) >> 16);
}

void dequantize(GgmlType type, const uint8_t* source, int64_t count, float* out) {
  if (count <= 0) return;  // an empty tensor: `out` may be null
  if (type == GgmlType::kF32) {
    std::memcpy(out, source, static_cast<size_t>(count) * 4);
    return;
  }
  if (type == GgmlType::kF16 || type == GgmlType::kBF16) {
    for (int64_t i = 0; i < count; ++i) {
      const uint16_t bits = load_u16(source + 2 * i);
      out[i] = type == GgmlType::kF16 ? half_to_float(bits) : bfloat16_to_float(bits);
    }
    return;
  }
  void (*block)(const uint8_t*, float*) = nullptr;
  switch (type) {
    case GgmlType::kQ4_0: block = q4_0_block; break;
    case GgmlType::kQ4_1: block = q4_1_block; break;
    case GgmlType::kQ5_0: block = q5_0_block; break;
    case GgmlType::kQ5_1: block = q5_1_block; break;
    case GgmlType::kQ8_0: block = q8_0_block; break;
    case GgmlType::kQ4_K: block = q4_k_block; break;
    case GgmlType::kQ5_K: block = q5_k_block; break;
    case GgmlType::kQ6_K: block = q6_k_block; break;
    default: return;  // float types handled above
  }
  const int64_t per_block = ggml_block_elements(type), bytes = ggml_block_bytes(type);
  for (int64_t i = 0; i < count / per_block; ++i) block(source + i * bytes, out + i * per_block);
}

void quantize(GgmlType type, const float* x, int64_t count, uint8_t* out) {
  const int64_t bytes = ggml_block_bytes(type);
  for (int64_t i = 0; i < count / 32; ++i) {
    const float* v = x + i * 32;
    uint8_t* b = out + i * bytes;
    if (type == GgmlType::kQ8_0) {
      float amax = 0.0f;
      for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(v[j]));
      const float d = amax / 127;
      const float id = d != 0.0f ? 1.0f / d : 0.0f;
      store_u16(b, float_to_half(d));
      for (int j = 0; j < 32; ++j) b[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(std::round(v[j] * id)));
    } else {  // kQ4_0: the value of largest magnitude maps to -8
      float amax = 0.0f, max = 0.0f;
      for (int j = 0; j < 32; ++j) {
        if (amax < std::fabs(v[j])) {
          amax = std::fabs(v[j]);
          max = v[j];
        }
      }
      const float d = max / -8;
      const float id = d != 0.0f ? 1.0f / d : 0.0f;
      store_u16(b, float_to_half(d));
      for (int j = 0; j < 16; ++j) {
        const int q0 = std::min(15, static_cast<int>(static_cast<int8_t>(v[j] * id + 8.5f)));
        const int q1 = std::min(15, static_cast<int>(static_cast<int8_t>(v[j + 16] * id + 8.5f)));
        b[2 + j] = static_cast<uint8_t>(q0 | (q1 << 4));
      }
    }
  }
}

}  // namespace stepwise
