// Group-quantized linear layers (models/group_quantized.h, Transformer::set_group_quantized): a model
// whose linears hold int8 / int4 weights gives the logits of the same model whose weights are those
// values dequantized here, independently ((q - z) * s, one float32 rounding), for 1, 7 and 16 rows (the
// kernels) and 40 (LibTorch over the dequantized copy); KV-cached steps equal the full forward; bad
// matrices are errors naming the tensor. The two models compute the same products in other orders, so
// they agree within the bounds of tests/numeric_bounds.h.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <random>

#include "core/tensor/sampling.h"
#include "models/checkpoint.h"
#include "models/group_quantized.h"
#include "models/packed_linear.h"
#include "tests/support/expect_error.h"
#include "tests/support/fixture_utils.h"
#include "tests/support/numeric_bounds.h"

namespace stepwise {
namespace {

using testing::expect_error;
using testing::max_abs;
using testing::max_abs_difference;

// Two layers, hidden 128, intermediate 256, an untied head of 300 rows (not a multiple of the 16-feature
// panels): every in-feature count divides by 128.
TransformerConfig test_config() {
  TransformerConfig config;
  config.model_type = "qwen2";
  config.architecture = "Qwen2ForCausalLM";
  config.vocab_size = 300;
  config.hidden_size = 128;
  config.intermediate_size = 256;
  config.num_layers = 2;
  config.num_heads = 4;
  config.num_kv_heads = 2;
  config.head_dim = 32;
  config.max_position_embeddings = 256;
  config.rope_theta = 10000.0;
  config.rms_norm_eps = 1e-6;
  config.tie_word_embeddings = false;
  return config;
}

struct Format {
  int bits;
  bool symmetric;
  int64_t group;
};

std::string format_label(const Format& f) {
  return "int" + std::to_string(f.bits) + (f.symmetric ? "_sym" : "_asym") + "_g" + std::to_string(f.group);
}

// Random q (and zero points) with scales of the magnitude of the model's N(0, 0.02) weights. With
// `power_of_two_scales` every dequantized value is exact in bfloat16 (q - z and q have at most 8 bits).
GroupQuantizedMatrix random_matrix(std::mt19937& rng, const Format& f, int64_t n, int64_t k,
                                   bool power_of_two_scales) {
  GroupQuantizedMatrix m;
  m.bits = f.bits;
  m.out_features = n;
  m.in_features = k;
  m.group_size = f.group;
  m.symmetric = f.symmetric;
  const int64_t groups = n * k / f.group;
  std::uniform_int_distribution<int> q8(-128, 127), q4(0, 15);
  std::uniform_real_distribution<float> scale(0.5f, 1.0f);
  std::uniform_int_distribution<int> exponent(0, 2);
  m.values.resize(static_cast<size_t>(n * k));
  for (auto& v : m.values) v = static_cast<int8_t>(f.bits == 8 ? q8(rng) : q4(rng));
  const float unit = f.bits == 8 ? 0.02f / 64 : 0.02f / 4;
  for (int64_t g = 0; g < groups; ++g)
    m.scales.push_back(power_of_two_scales ? unit / static_cast<float>(1 << exponent(rng)) : unit * scale(rng));
  if (f.bits == 4 && !f.symmetric)
    for (int64_t g = 0; g < groups; ++g) m.zero_points.push_back(static_cast<uint8_t>(q4(rng)));
  return m;
}

// The test's own dequantization: (N, K) float32.
torch::Tensor dequantized(const GroupQuantizedMatrix& m) {
  torch::Tensor out = torch::empty({m.out_features, m.in_features}, torch::kFloat32);
  float* w = out.data_ptr<float>();
  for (int64_t n = 0; n < m.out_features; ++n)
    for (int64_t k = 0; k < m.in_features; ++k) {
      const int64_t g = n * (m.in_features / m.group_size) + k / m.group_size;
      const int zero = m.bits == 8 ? 0 : (m.symmetric ? 8 : m.zero_points[static_cast<size_t>(g)]);
      w[n * m.in_features + k] = static_cast<float>(m.values[static_cast<size_t>(n * m.in_features + k)] - zero) *
                                 m.scales[static_cast<size_t>(g)];
    }
  return out;
}

bool is_linear_weight(const std::string& name) {
  return name.find("_proj.weight") != std::string::npos || name == "lm_head.weight";
}

struct ModelPair {
  std::shared_ptr<Transformer> quantized;   // set_group_quantized on every linear
  std::shared_ptr<Transformer> reference;   // the same weights, dequantized by the test, as dense tensors
  int64_t linears = 0;
};

ModelPair make_pair(const Format& f, torch::ScalarType dtype) {
  torch::NoGradGuard no_grad;
  const TransformerConfig config = test_config();
  ModelPair pair;
  pair.quantized = random_transformer(config, 7, {dtype, torch::kCPU});
  pair.reference = random_transformer(config, 7, {dtype, torch::kCPU});
  std::mt19937 rng(11);
  for (auto& [name, tensor] : pair.reference->named_parameters()) {
    if (!is_linear_weight(name)) continue;
    GroupQuantizedMatrix m = random_matrix(rng, f, tensor.size(0), tensor.size(1), dtype == torch::kBFloat16);
    tensor.copy_(dequantized(m));
    pair.quantized->set_group_quantized(name, std::move(m));
    ++pair.linears;
  }
  return pair;
}

torch::Tensor logits(const Transformer& model, const torch::Tensor& tokens, KvCache* cache = nullptr,
                     int64_t offset = 0) {
  torch::NoGradGuard no_grad;
  ForwardOptions options;
  options.cache = cache;
  const int64_t length = tokens.size(1);
  return model.forward(tokens, torch::arange(offset, offset + length).view({1, length}), options)[0];
}

class QuantizedLinears : public ::testing::TestWithParam<std::tuple<Format, bool>> {};

TEST_P(QuantizedLinears, EqualDequantizedWeights) {
  const auto [format, bfloat16] = GetParam();
  const torch::ScalarType dtype = bfloat16 ? torch::kBFloat16 : torch::kFloat32;
  const ModelPair pair = make_pair(format, dtype);
  const TransformerConfig& config = pair.quantized->config();
  at::Generator generator = make_generator(3);
  const torch::Tensor prompt = at::randint(config.vocab_size, {1, 40}, generator, torch::kInt64);
  for (int64_t rows : {1, 7, 16, 40}) {
    const torch::Tensor tokens = prompt.narrow(1, 0, rows);
    const int64_t before = linear_kernel_products();
    const torch::Tensor got = logits(*pair.quantized, tokens);
    // Up to 16 rows every linear (7 per layer and the head) runs on the int8 / int4 kernels; 40 rows go to
    // LibTorch over the dequantized copy.
    EXPECT_EQ(linear_kernel_products() - before, rows <= 16 ? pair.linears : 0) << rows << " rows";
    const torch::Tensor expected = logits(*pair.reference, tokens);
    // float32: the same dequantized weights and products summed in another order; bfloat16 (power-of-two
    // scales, so the reference's bfloat16 weights are the exact values): two bfloat16 evaluations.
    const double bound =
        bfloat16 ? testing::bfloat16_pair_bound(max_abs(expected),
                                                testing::bfloat16_forward_roundings(config.num_layers))
                 : testing::float32_bound(max_abs(expected), testing::forward_reduction_length(config, rows));
    testing::expect_within_bound(max_abs_difference(got, expected), bound,
                                 format_label(format) + (bfloat16 ? " bf16 " : " f32 ") + std::to_string(rows) + " rows");
  }

  // Cache on = cache off: a 4-token prefill and single-token steps against the full 20-token forward.
  const torch::Tensor tokens = prompt.narrow(1, 0, 20);
  const torch::Tensor full = logits(*pair.quantized, tokens);
  KvCache cache = pair.quantized->make_cache(1, 20);
  std::vector<torch::Tensor> pieces{logits(*pair.quantized, tokens.narrow(1, 0, 4), &cache, 0)};
  for (int64_t t = 4; t < 20; ++t) pieces.push_back(logits(*pair.quantized, tokens.narrow(1, t, 1), &cache, t));
  const double bound =
      bfloat16 ? testing::bfloat16_pair_bound(max_abs(full), testing::bfloat16_forward_roundings(config.num_layers))
               : testing::float32_bound(max_abs(full), testing::forward_reduction_length(config, 20));
  testing::expect_within_bound(max_abs_difference(torch::cat(pieces), full), bound,
                               format_label(format) + " cached steps");
}

std::vector<Format> all_formats() {
  std::vector<Format> out;
  for (int64_t group : {32, 64, 128}) {
    out.push_back({8, true, group});
    out.push_back({4, true, group});
    out.push_back({4, false, group});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Formats, QuantizedLinears, ::testing::Combine(::testing::ValuesIn(all_formats()),
                                                                       ::testing::Bool()),
                         [](const auto& info) {
                           return format_label(std::get<0>(info.param)) +
                                  (std::get<1>(info.param) ? "_bfloat16" : "_float32");
                         });

// The tied head is the embedding: quantizing the embedding quantizes the head's product too.
TEST(QuantizedLinears, TiedEmbeddingIsTheHead) {
  torch::NoGradGuard no_grad;
  TransformerConfig config = test_config();
  config.tie_word_embeddings = true;
  auto model = random_transformer(config, 5);
  auto reference = random_transformer(config, 5);
  std::mt19937 rng(2);
  GroupQuantizedMatrix m = random_matrix(rng, {8, true, 32}, config.vocab_size, config.hidden_size, false);
  for (auto& [name, tensor] : reference->named_parameters())
    if (name == "model.embed_tokens.weight") tensor.copy_(dequantized(m));
  model->set_group_quantized("model.embed_tokens.weight", std::move(m));
  const torch::Tensor tokens = torch::arange(5).view({1, 5});
  const int64_t before = linear_kernel_products();
  const torch::Tensor got = logits(*model, tokens);
  EXPECT_EQ(linear_kernel_products() - before, 1);  // the head: a float32 model packs nothing else
  const torch::Tensor expected = logits(*reference, tokens);
  testing::expect_within_bound(max_abs_difference(got, expected),
                               testing::float32_bound(max_abs(expected), testing::forward_reduction_length(config, 5)),
                               "tied int8 head");
}

TEST(QuantizedLinears, BadMatricesNameTheTensor) {
  auto model = random_transformer(test_config(), 1);
  std::mt19937 rng(4);
  const std::string name = "model.layers.1.mlp.down_proj.weight";  // (128, 256)
  auto matrix = [&](Format f) { return random_matrix(rng, f, 128, 256, false); };
  expect_error([&] { model->set_group_quantized("model.layers.9.mlp.down_proj.weight", matrix({8, true, 32})); },
               {"model.layers.9.mlp.down_proj.weight", "not a linear weight"});
  expect_error([&] { model->set_group_quantized("model.norm.weight", matrix({8, true, 32})); },
               {"model.norm.weight", "not a linear weight"});
  expect_error([&] { model->set_group_quantized("model.layers.1.mlp.up_proj.weight", matrix({8, true, 32})); },
               {"model.layers.1.mlp.up_proj.weight", "(128, 256)", "(256, 128)"});
  GroupQuantizedMatrix bits = matrix({4, true, 32});
  bits.bits = 3;
  expect_error([&] { model->set_group_quantized(name, bits); }, {name, "3 bits"});
  GroupQuantizedMatrix group = matrix({8, true, 32});
  group.group_size = 48;
  expect_error([&] { model->set_group_quantized(name, group); }, {name, "group size 48"});
  GroupQuantizedMatrix nibble = matrix({4, true, 32});
  nibble.values[5] = 16;
  expect_error([&] { model->set_group_quantized(name, nibble); }, {name, "int4 value 16"});
  GroupQuantizedMatrix scales = matrix({8, true, 64});
  scales.scales.pop_back();
  expect_error([&] { model->set_group_quantized(name, scales); }, {name, "scales, expected 512"});
  GroupQuantizedMatrix zeros = matrix({4, false, 32});
  zeros.zero_points.clear();
  expect_error([&] { model->set_group_quantized(name, zeros); }, {name, "zero points, expected"});
  GroupQuantizedMatrix nan = matrix({8, true, 32});
  nan.scales[3] = NAN;
  expect_error([&] { model->set_group_quantized(name, nan); }, {name, "scale 3 is not finite"});
}

}  // namespace
}  // namespace stepwise
