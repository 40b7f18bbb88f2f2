// ggml tensor encodings to and from float32: half and bfloat16 conversions, dequantization of the
// block formats GgufFile accepts (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K) with
// the arithmetic of ggml's reference dequantize_row_* functions, and the reference quantizers of the
// types the GGUF writer produces (Q8_0, Q4_0). Torch-free; callers check sizes (GgufFile did).
#pragma once

#include <cstdint>

#include "core/gguf_file.h"

namespace stepwise {

float half_to_float(uint16_t bits);
uint16_t float_to_half(float value);      // round to nearest even; overflow to infinity
float bfloat16_to_float(uint16_t bits);
uint16_t float_to_bfloat16(float value);  // round to nearest even; NaN stays a (quiet) NaN

// Decodes `count` elements (a multiple of the type's block) of `type` from `source` into `out`.
void dequantize(GgmlType type, const uint8_t* source, int64_t count, float* out);

// Encodes `count` floats (a multiple of 32) as ggml's reference quantizer does, into
// count / 32 * ggml_block_bytes(type) bytes at `out`. `type` is kQ8_0 or kQ4_0.
void quantize(GgmlType type, const float* values, int64_t count, uint8_t* out);

}  // namespace stepwise
