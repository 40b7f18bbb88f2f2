// Tolerances for comparing two floating-point evaluations of the same quantity, derived from the dtype,
// the longest reduction and the magnitude of the result instead of being tuned on one CPU. The BLAS
// (OpenBLAS for float32) and oneDNN (bfloat16) pick their kernels at run time from the CPU, and a
// kernel change reorders additions: results that are not the same operations in the same order on the
// same shapes differ by rounding, and only the bounds below may be assumed, on any machine.
//
// float32: one length-n dot product evaluated in two summation orders (other blocking, vector width,
// FMA or not) has each result within gamma_n * sum|a_i b_i| of the exact value, gamma_n ~ n * u with
// u = eps / 2 the unit roundoff (Higham, "Accuracy and Stability of Numerical Algorithms", 3.1), so
// the two differ by at most n * eps * sum|a_i b_i|. For a whole forward pass we take n = the longest
// reduction anywhere in it and `scale` = the largest |value| of the compared output, with kFloat32Slack
// = 1. This is an engineering bound, not a proof: sum|a_i b_i| can exceed the output (cancellation)
// and every layer adds its own rounding, but rounding errors of different orders are close to
// independent, so the typical difference is ~sqrt(n) * u * scale, far below it. The differences
// measured under every OpenBLAS kernel family scripts/test_portability.sh runs on an AVX-512 AMD EPYC
// (Prescott to SkylakeX) stay at or below 16 % of it (STEPWISE_REPORT_BOUNDS=1 prints each one), while
// the bugs these comparisons exist to catch (a wrong position, mask, cache slot or norm) move logits
// by 0.1 or more, three orders of magnitude above it for the test models.
//
// bfloat16: kernels accumulate in float32 and round each op's output to bfloat16 (8 significant bits,
// relative error <= eps_bf16 / 2). The error is then set by how many roundings lie on the path to the
// output, not by the reduction length: we bound it by `roundings` * eps_bf16 / 2 * scale, counting the
// bfloat16 outputs of one layer (see kBFloat16RoundingsPerLayer) times the layers, plus the head. Two
// bfloat16 evaluations in different orders are each that close to the exact value: twice the bound.
// Measured: bfloat16 against float32 logits 13 % of the bound (0.13 at scale 8.6); this worst-case
// count leaves near-ties in bfloat16 undecided, so bfloat16 greedy tests compare only decided steps.
#pragma once

#include <cstdint>

namespace stepwise::testing {

// Machine epsilon: the spacing of floating-point numbers in [1, 2).
constexpr double kFloat32Epsilon = 1.0 / (1 << 23);  // 1.19e-7
constexpr double kBFloat16Epsilon = 1.0 / (1 << 7);  // 7.8e-3
constexpr double kFloat32Slack = 1.0;

// Bound on |x - y| for two float32 evaluations of values of magnitude <= `scale` whose longest
// reduction has `reduction_length` terms and that differ only in operation order.
constexpr double float32_bound(double scale, int64_t reduction_length) {
  return kFloat32Slack * kFloat32Epsilon * static_cast<double>(reduction_length) * scale;
}

// Bound on |x - y| between a bfloat16 computation and a float32 one of values of magnitude <= `scale`,
// with `roundings` bfloat16 roundings on the longest path.
constexpr double bfloat16_bound(double scale, int64_t roundings) {
  return static_cast<double>(roundings) * (kBFloat16Epsilon / 2.0) * scale;
}
// ... and between two bfloat16 computations in different orders.
constexpr double bfloat16_pair_bound(double scale, int64_t roundings) { return 2.0 * bfloat16_bound(scale, roundings); }

// bfloat16 outputs of one decoder layer on the path to the logits: input norm, q/k/v projection, rope,
// attention scores, softmax, context, output projection, residual add, post norm, gate/up projection,
// silu, gate * up, down projection, residual add.
constexpr int64_t kBFloat16RoundingsPerLayer = 14;
// ... and of a whole forward pass: every layer, then the final norm and the LM head.
constexpr int64_t bfloat16_forward_roundings(int64_t layers) { return layers * kBFloat16RoundingsPerLayer + 2; }

// A greedy (argmax) choice made from logits within `bound` of the reference's cannot flip when the
// reference's top-two gap exceeds twice the bound: each of the two logits may move by `bound`.
constexpr double stable_top_two_gap(double bound) { return 2.0 * bound; }

}  // namespace stepwise::testing
