// GGUF checkpoints: each fixture model written as GGUF in every written type and read back gives the
// original weights (f32), the weights rounded as the type rounds them (f16, bf16), or the weights as an
// independent torch re-implementation of ggml's Q8_0 / Q4_0 reference quantizer reconstructs them; the
// logits then equal those of the HF model holding the same weights (same operations on the same
// values, so equal exactly). The Q/K row order of llama files is pinned to the converter's formula,
// the metadata to llama.cpp's keys, and broken files give errors naming the file and the key or tensor.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/gguf_file.h"
#include "core/gguf_writer.h"
#include "models/checkpoint.h"
#include "models/gguf_checkpoint.h"
#include "models/gguf_layout.h"
#include "models/packed_linear.h"
#include "tests/support/expect_error.h"
#include "tests/support/fixture_utils.h"
#include "tests/support/numeric_bounds.h"

namespace stepwise {
namespace {

using testing::fixture_model;
using testing::TempDir;

const std::vector<std::string> kFixtures = {"qwen2-tiny", "qwen2-tiny-bf16", "qwen3-tiny", "llama-tiny",
                                            "llama-bidir-tiny", "dream-tiny"};

using testing::expect_error;

torch::Tensor logits_of(const Transformer& model) {
  torch::NoGradGuard no_grad;
  const int64_t n = 12;
  torch::Tensor tokens = (torch::arange(n, torch::kInt64) * 31 % model.config().vocab_size).view({1, n});
  torch::Tensor positions = torch::arange(n, torch::kInt64).view({1, n});
  return model.forward(tokens, positions);
}

// ggml's quantize_row_q8_0_ref / quantize_row_q4_0_ref followed by dequantization, written with torch
// ops on blocks of 32 along the last dimension. x: (..., K) float32, K % 32 == 0.
torch::Tensor fake_quantize(const torch::Tensor& x, GgmlType type) {
  torch::Tensor blocks = x.reshape({-1, 32});  // (blocks, 32)
  auto half_rounded = [](const torch::Tensor& t) { return t.to(torch::kHalf).to(torch::kFloat32); };
  torch::Tensor out;
  if (type == GgmlType::kQ8_0) {
    torch::Tensor d = std::get<0>(blocks.abs().max(1, /*keepdim=*/true)) / 127;
    torch::Tensor id = torch::where(d != 0, 1.0f / d, torch::zeros_like(d));
    torch::Tensor scaled = (blocks * id).to(torch::kFloat64);  // roundf: half away from zero, exact in double
    torch::Tensor q = (scaled.abs() + 0.5).floor() * scaled.sign();
    out = q.to(torch::kFloat32) * half_rounded(d);
  } else {
    torch::Tensor index = blocks.abs().argmax(1, /*keepdim=*/true);  // first largest magnitude
    torch::Tensor max = blocks.gather(1, index);
    torch::Tensor d = max / -8;
    torch::Tensor id = torch::where(d != 0, 1.0f / d, torch::zeros_like(d));
    torch::Tensor q = (blocks * id + 8.5f).trunc().clamp_max(15);
    out = (q - 8) * half_rounded(d);
  }
  return out.reshape(x.sizes());
}

// What a weight of `name` becomes in a GGUF file of `type`.
torch::Tensor as_written(const torch::Tensor& weight, GgmlType type) {
  const GgmlType actual = gguf_tensor_type_for(weight.sizes().vec(), type);
  torch::Tensor x = weight.to(torch::kFloat32);
  switch (actual) {
    case GgmlType::kF32: return x;
    case GgmlType::kF16: return x.to(torch::kHalf).to(torch::kFloat32);
    case GgmlType::kBF16: return x.to(torch::kBFloat16).to(torch::kFloat32);
    default: return fake_quantize(x, actual);
  }
}

TEST(GgufCheckpoint, EveryFixtureRoundTripsInEveryWrittenType) {
  TempDir dir;
  for (const std::string& name : kFixtures) {
    for (GgmlType type : {GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16, GgmlType::kQ8_0, GgmlType::kQ4_0}) {
      SCOPED_TRACE(name + " as " + ggml_type_name(type));
      const auto original = load_checkpoint(fixture_model(name));
      const std::string path = dir.file(name + "-" + ggml_type_name(type) + ".gguf");
      save_gguf_checkpoint(*original, path, GgufSaveOptions{type, std::nullopt, std::nullopt});
      const auto loaded = load_checkpoint(path);  // through the .gguf hook

      const TransformerConfig& a = original->config();
      const TransformerConfig& b = loaded->config();
      EXPECT_EQ(b.model_type, a.model_type);
      EXPECT_EQ(b.vocab_size, a.vocab_size);
      EXPECT_EQ(b.num_layers, a.num_layers);
      EXPECT_EQ(b.num_kv_heads, a.num_kv_heads);
      EXPECT_EQ(b.head_dim, a.head_dim);
      EXPECT_EQ(b.rope_theta, a.rope_theta);
      EXPECT_EQ(b.rms_norm_eps, a.rms_norm_eps);
      EXPECT_EQ(b.tie_word_embeddings, a.tie_word_embeddings);
      EXPECT_EQ(b.attention_bias, a.attention_bias);
      EXPECT_EQ(b.qk_norm, a.qk_norm);
      EXPECT_EQ(b.bidirectional, a.bidirectional);
      EXPECT_EQ(b.shift_logits, a.shift_logits);
      EXPECT_EQ(b.mask_token_id, a.mask_token_id);
      EXPECT_EQ(b.bos_token_id, a.bos_token_id);
      EXPECT_EQ(b.eos_token_ids, a.eos_token_ids);
      EXPECT_EQ(b.max_position_embeddings, a.max_position_embeddings);

      // The reference: the HF model holding the weights as the type stores them.
      const auto reference = load_checkpoint(fixture_model(name));
      auto reference_parameters = reference->named_parameters();
      auto loaded_parameters = loaded->named_parameters();
      ASSERT_EQ(reference_parameters.size(), loaded_parameters.size());
      for (size_t i = 0; i < reference_parameters.size(); ++i) {
        auto& [parameter_name, value] = reference_parameters[i];
        torch::NoGradGuard no_grad;
        value.copy_(as_written(value, type));
        EXPECT_EQ(loaded_parameters[i].first, parameter_name);
        EXPECT_TRUE(loaded_parameters[i].second.equal(value)) << parameter_name;
      }
      // Same weights, same operations: the logits are equal, not merely close. Q8_0 / Q4_0 weights are
      // also kept quantized, and their products run on the int8 / int4 kernels (QuantizedTypesStayQuantized);
      // loaded with `dequantize` the model computes exactly what the reference does.
      const bool quantized = type == GgmlType::kQ8_0 || type == GgmlType::kQ4_0;
      const auto plain = quantized ? load_checkpoint(path, LoadOptions{torch::kFloat32, torch::kCPU, true}) : loaded;
      EXPECT_TRUE(logits_of(*plain).equal(logits_of(*reference)));
      if (type == GgmlType::kF32) EXPECT_TRUE(logits_of(*loaded).equal(logits_of(*original)));
    }
  }
}

// Greedy tokens after `prompt`, one full forward per token (no cache) or with a KV cache.
std::vector<int64_t> greedy(const Transformer& model, const std::vector<int64_t>& prompt, int64_t count,
                            bool use_cache) {
  torch::NoGradGuard no_grad;
  std::vector<int64_t> ids = prompt, generated;
  KvCache cache = model.make_cache(1, static_cast<int64_t>(prompt.size()) + count);
  for (int64_t step = 0; step < count; ++step) {
    const int64_t start = use_cache ? cache.length() : 0;
    const int64_t length = static_cast<int64_t>(ids.size()) - start;
    torch::Tensor tokens = torch::tensor(std::vector<int64_t>(ids.begin() + start, ids.end())).view({1, length});
    ForwardOptions options;
    options.cache = use_cache ? &cache : nullptr;
    options.last_position_only = true;
    const torch::Tensor logits = model.forward(tokens, torch::arange(start, start + length).view({1, length}), options);
    generated.push_back(logits.argmax(-1).item<int64_t>());
    ids.push_back(generated.back());
  }
  return generated;
}

// Q8_0 and Q4_0 files keep their linear weights quantized: int8 / symmetric int4 groups of 32 whose
// dequantized values are ggml's (the dense weights equal the reference's bit for bit, above), the
// products of up to 16 rows on the kernels. Logits equal the dequantized model's within the float32
// bound of two summation orders; greedy generations (with the KV cache) equal its greedy tokens over
// every step decided by more than twice that bound.
TEST(GgufCheckpoint, QuantizedTypesStayQuantized) {
  TempDir dir;
  for (const std::string& name : {"qwen2-tiny", "qwen3-tiny", "llama-tiny"}) {
    for (GgmlType type : {GgmlType::kQ8_0, GgmlType::kQ4_0}) {
      SCOPED_TRACE(name + " as " + ggml_type_name(type));
      const std::string path = dir.file(name + "-" + ggml_type_name(type) + ".gguf");
      save_gguf_checkpoint(*load_checkpoint(fixture_model(name)), path, GgufSaveOptions{type, std::nullopt, std::nullopt});
      const auto quantized = load_checkpoint(path);
      const auto dequantized = load_checkpoint(path, LoadOptions{torch::kFloat32, torch::kCPU, true});

      int64_t quantized_tensors = 0;  // 2-D weights the file holds as `type`
      const GgufFile file(path);  // named: a range over a temporary's member would outlive the temporary
      for (const auto& info : file.tensors()) quantized_tensors += info.type == type ? 1 : 0;
      const auto totals = quantized->packed_linears().format_totals();
      const std::string format = type == GgmlType::kQ8_0 ? "int8 g32" : "int4 g32";
      ASSERT_EQ(totals.size(), 1u);
      ASSERT_EQ(totals.count(format), 1u);
      EXPECT_EQ(totals.at(format).tensors, quantized_tensors);
      EXPECT_TRUE(dequantized->packed_linears().format_totals().empty());

      const int64_t before = linear_kernel_products();
      const torch::Tensor got = logits_of(*quantized);
      const int64_t layers = quantized->config().num_layers;
      EXPECT_EQ(linear_kernel_products() - before, 7 * layers + 1);  // every projection and the head
      const torch::Tensor expected = logits_of(*dequantized);
      testing::expect_within_bound(
          testing::max_abs_difference(got, expected),
          testing::float32_bound(testing::max_abs(expected), testing::forward_reduction_length(quantized->config(), 12)),
          name + " " + ggml_type_name(type) + " logits");

      const std::vector<int64_t> prompt = {1, 5, 9, 13};
      const std::vector<int64_t> reference = greedy(*dequantized, prompt, 12, /*use_cache=*/false);
      const std::vector<int64_t> tokens = greedy(*quantized, prompt, 12, /*use_cache=*/true);
      const size_t decided = testing::stable_greedy_steps(*dequantized, prompt, reference);
      EXPECT_GE(decided, 4u);
      EXPECT_EQ(std::vector<int64_t>(tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(decided)),
                std::vector<int64_t>(reference.begin(), reference.begin() + static_cast<std::ptrdiff_t>(decided)));
    }
  }
}

TEST(GgufCheckpoint, LlamaQueryAndKeyRowsAreInTheConvertersOrder) {
  TempDir dir;
  TransformerConfig config = load_checkpoint(fixture_model("llama-tiny"))->config();
  config.num_kv_heads = 2;  // K permuted with its own head count
  const auto model = random_transformer(config, 5);
  save_gguf_checkpoint(*model, dir.file("llama.gguf"), GgufSaveOptions{});
  const GgufFile file(dir.file("llama.gguf"));
  // convert_hf_to_gguf.py: w.reshape(n_head, 2, rows // n_head // 2, cols).swapaxes(1, 2).reshape(w.shape)
  auto converter_permute = [](const torch::Tensor& w, int64_t heads) {
    return w.reshape({heads, 2, w.size(0) / heads / 2, w.size(1)}).transpose(1, 2).reshape(w.sizes());
  };
  auto stored = [&](const std::string& tensor_name) {
    const GgufTensorInfo& info = file.tensor(tensor_name);
    EXPECT_EQ(info.type, GgmlType::kF32);
    return torch::from_blob(const_cast<uint8_t*>(file.data(info)), info.shape(), torch::kFloat32).clone();
  };
  auto parameter = [&](const std::string& parameter_name) {
    for (const auto& [n, value] : model->named_parameters())
      if (n == parameter_name) return value;
    ADD_FAILURE() << "no parameter " << parameter_name;
    return torch::Tensor();
  };
  EXPECT_TRUE(stored("blk.0.attn_q.weight")
                  .equal(converter_permute(parameter("model.layers.0.self_attn.q_proj.weight"), config.num_heads)));
  EXPECT_TRUE(stored("blk.0.attn_k.weight").equal(converter_permute(parameter("model.layers.0.self_attn.k_proj.weight"), 2)));
  EXPECT_TRUE(stored("blk.0.attn_v.weight").equal(parameter("model.layers.0.self_attn.v_proj.weight")));  // as is
  EXPECT_EQ(file.tensor("blk.0.attn_q.weight").dims, (std::vector<int64_t>{config.hidden_size, config.num_heads * config.head_dim}));
  EXPECT_TRUE(logits_of(*load_checkpoint(dir.file("llama.gguf"))).equal(logits_of(*model)));
}

TEST(GgufCheckpoint, WritesTheKeysLlamaCppReads) {
  TempDir dir;
  save_gguf_checkpoint(*load_checkpoint(fixture_model("dream-tiny")), dir.file("d.gguf"),
                       GgufSaveOptions{GgmlType::kQ8_0, std::nullopt, std::nullopt});
  const GgufFile file(dir.file("d.gguf"));
  EXPECT_EQ(file.string("general.architecture"), "dream");
  EXPECT_EQ(file.integer("general.file_type"), 7);  // LLAMA_FTYPE_MOSTLY_Q8_0
  EXPECT_EQ(file.integer("dream.block_count"), 2);
  EXPECT_EQ(file.integer("dream.embedding_length"), 64);
  EXPECT_EQ(file.integer("dream.feed_forward_length"), 160);
  EXPECT_EQ(file.integer("dream.attention.head_count"), 4);
  EXPECT_EQ(file.integer("dream.attention.head_count_kv"), 2);
  EXPECT_EQ(file.real("dream.rope.freq_base"), 1e6);
  EXPECT_EQ(file.real("dream.attention.layer_norm_rms_epsilon"), 1e-6);
  EXPECT_FALSE(file.boolean("dream.attention.causal"));
  EXPECT_TRUE(file.boolean("diffusion.shift_logits"));
  EXPECT_EQ(file.integer("tokenizer.ggml.mask_token_id"), 383);
  EXPECT_EQ(file.string("tokenizer.ggml.model"), "none");
  EXPECT_EQ(file.tensor("token_embd.weight").type, GgmlType::kQ8_0);
  EXPECT_EQ(file.tensor("blk.0.attn_norm.weight").type, GgmlType::kF32);  // 1-D stays f32
  EXPECT_EQ(file.tensor("blk.0.attn_q.bias").type, GgmlType::kF32);
  // 2 layers x (2 norms + 3 biases) + the final norm stay f32; embedding, head, 2 x 7 weights are q8_0.
  EXPECT_EQ(gguf_tensor_type_summary(file), "f32: 11, q8_0: 16");
}

TEST(GgufCheckpoint, BrokenFilesAreNamed) {
  TempDir dir;
  const auto model = load_checkpoint(fixture_model("qwen2-tiny"));
  auto write_with = [&](const std::string& path, const std::function<void(GgufWriter&)>& edit) {
    GgufWriter writer;
    edit(writer);
    writer.write(path);
  };
  const std::string unknown = dir.file("unknown.gguf");
  write_with(unknown, [](GgufWriter& w) {
    w.add_string("general.architecture", "mamba");
    w.add_tensor("token_embd.weight", {4, 32}, GgmlType::kF32, [](uint8_t* out) { std::memset(out, 0, 512); });
  });
  expect_error([&] { load_checkpoint(unknown); }, {unknown, "'general.architecture' = 'mamba' is not supported"});
  const std::string missing_arch = dir.file("missing.gguf");
  write_with(missing_arch, [](GgufWriter&) {});
  expect_error([&] { load_checkpoint(missing_arch); }, {missing_arch, "missing metadata key 'general.architecture'"});
  const std::string wrong_type = dir.file("wrong-type.gguf");
  write_with(wrong_type, [&](GgufWriter& w) {
    w.add_string("general.architecture", "qwen2");
    w.add_string("qwen2.embedding_length", "sixty-four");
    w.add_tensor("token_embd.weight", {4, 32}, GgmlType::kF32, [](uint8_t* out) { std::memset(out, 0, 512); });
  });
  expect_error([&] { load_checkpoint(wrong_type); }, {wrong_type, "key 'qwen2.embedding_length' is string, expected an integer"});
  // A complete file with one tensor left out, and with one of the wrong shape.
  const std::string no_norm = dir.file("no-norm.gguf");
  write_with(no_norm, [&](GgufWriter& w) {
    add_gguf_model_metadata(w, model->config(), GgmlType::kF32);
    for (const auto& [name, value] : model->named_parameters()) {
      if (name == "model.norm.weight" || name == "lm_head.weight") continue;
      torch::Tensor v = value.contiguous();
      w.add_tensor(*gguf_tensor_name(name), v.sizes().vec(), GgmlType::kF32,
                   [v](uint8_t* out) { std::memcpy(out, v.data_ptr<float>(), v.numel() * 4); });
    }
  });
  expect_error([&] { load_checkpoint(no_norm); }, {no_norm, "missing tensor 'model.norm.weight'"});
  const std::string bad_shape = dir.file("bad-shape.gguf");
  write_with(bad_shape, [&](GgufWriter& w) {
    add_gguf_model_metadata(w, model->config(), GgmlType::kF32);
    for (const auto& [name, value] : model->named_parameters()) {
      if (name == "lm_head.weight") continue;
      torch::Tensor v = name == "model.norm.weight" ? torch::ones({32}) : value.contiguous();
      w.add_tensor(*gguf_tensor_name(name), v.sizes().vec(), GgmlType::kF32,
                   [v](uint8_t* out) { std::memcpy(out, v.data_ptr<float>(), v.numel() * 4); });
    }
    w.add_tensor("blk.0.extra.weight", {32}, GgmlType::kF32, [](uint8_t* out) { std::memset(out, 0, 128); });
  });
  expect_error([&] { load_checkpoint(bad_shape); }, {bad_shape, "tensor 'model.norm.weight' has shape [32], expected [64]"});
  expect_error([&] { load_checkpoint(dir.file("absent.gguf")); }, {"absent.gguf"});
}

}  // namespace
}  // namespace stepwise
