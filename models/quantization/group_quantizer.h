// Per-group integer quantization of a linear layer's weight (N, K) along its input dimension, with
// AutoRound's tunable parts: a rounding offset per weight and a scale on each group's min and max.
// Round-to-nearest (RTN) is the same computation with offsets 0 and min/max scales 1, so RTN and
// AutoRound produce checkpoints through one function. Scales are rounded to float16 before use, as
// the GPTQ layout stores them, so the weights evaluated are the weights saved.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>

#include "models/group_quantized.h"

namespace stepwise {

struct QuantizationScheme {
  int bits = 4;              // 4 or 8
  int64_t group_size = 128;  // columns per group; must divide the layer's in_features
  bool symmetric = false;    // absmax around zero point 2^(bits-1); else min/max with a zero point per group
};

// Refuses bits other than 4 and 8, a group size below 1, and 8-bit asymmetric (int8 weights carry no
// zero point). `where` names the flag, key or file in the message.
void validate_scheme(const QuantizationScheme& scheme, const std::string& where);
// Refuses a weight whose in_features the group size does not divide (the message names `tensor`).
void check_groups_divide(const QuantizationScheme& scheme, int64_t in_features, const std::string& tensor);

// The tunable parts for one weight; undefined tensors mean 0 offsets and unit scales (RTN).
struct RoundingParameters {
  torch::Tensor offsets;    // (N, K) float32, AutoRound's V, kept in [-0.5, 0.5] by its optimiser
  torch::Tensor min_scale;  // (N, K / g) float32 in [0, 1]
  torch::Tensor max_scale;  // (N, K / g) float32 in [0, 1]
};

// weight (N, K) float32 -> the dequantized weight (N, K) float32, differentiable in the rounding
// parameters (rounding passes gradients straight through).
torch::Tensor fake_quantize(const torch::Tensor& weight, const QuantizationScheme& scheme,
                            const RoundingParameters& parameters = {});

// weight (N, K) -> its integer form; dequantize(quantize_weight(w, ...)) equals fake_quantize(w, ...).
GroupQuantizedMatrix quantize_weight(const torch::Tensor& weight, const QuantizationScheme& scheme,
                                     const RoundingParameters& parameters = {});

// The weight (N, K) float32 a GroupQuantizedMatrix stands for.
torch::Tensor dequantize(const GroupQuantizedMatrix& matrix);

}  // namespace stepwise
