// Weight quantization: GPTQ packing against an independent implementation of the published layout
// (AutoGPTQ's pack loops: codes of input columns k..k+7 in one int32 word, zero points - 1 packed
// along the outputs), RTN against a scalar re-derivation, GPTQ-layout checkpoints written here by
// that independent packer loading into the dequantized model, AutoRound lowering a block's output
// error below RTN's, and bad input refused with errors naming the file, tensor or key.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "core/gguf_dequant.h"
#include "core/tensor/safetensors.h"
#include "core/tensor/sampling.h"
#include "models/checkpoint.h"
#include "models/quantization/autoround.h"
#include "models/quantization/gptq_checkpoint.h"
#include "models/quantization/gptq_layout.h"
#include "models/quantization/group_quantizer.h"
#include "tests/support/expect_error.h"
#include "tests/support/fixture_utils.h"
#include "tests/support/numeric_bounds.h"

namespace stepwise {
namespace {

namespace fs = std::filesystem;
using testing::expect_error;

const std::string kFixtures = STEPWISE_FIXTURES;

// A scratch directory removed at the end of the test.
struct ScratchDir {
  fs::path path;
  explicit ScratchDir(const std::string& name)
      : path(fs::temp_directory_path() / ("stepwise_quant_" + name + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~ScratchDir() { fs::remove_all(path); }
  std::string str() const { return path.string(); }
};

// ---- An independent statement of the published layout and of RTN, scalar code only ----

struct ReferenceQuantized {
  int bits;
  int64_t N, K, g;
  std::vector<uint32_t> codes;  // (N, K) unsigned codes 0..2^bits-1
  std::vector<uint32_t> zeros;  // (N, K/g) zero points
  std::vector<uint16_t> scales;  // (N, K/g) float16 bits
};

// Per group: range [min(0, min w), max(0, max w)] (symmetric: +-max |.|), float16 scale, zero point
// clamped to >= 1 (GPTQ v1 stores zero - 1), codes round-half-even then clamped.
ReferenceQuantized reference_rtn(const torch::Tensor& weight, int bits, int64_t g, bool sym) {
  torch::Tensor w = weight.contiguous().to(torch::kFloat32);
  ReferenceQuantized r{bits, w.size(0), w.size(1), g, {}, {}, {}};
  const float max_code = static_cast<float>((1 << bits) - 1);
  const float* data = w.data_ptr<float>();
  r.codes.resize(static_cast<size_t>(r.N * r.K));
  for (int64_t n = 0; n < r.N; ++n)
    for (int64_t start = 0; start < r.K; start += g) {
      float lo = 0.0f, hi = 0.0f;
      for (int64_t k = start; k < start + g; ++k) {
        lo = std::min(lo, data[n * r.K + k]);
        hi = std::max(hi, data[n * r.K + k]);
      }
      if (sym) {
        const float m = std::max(-lo, hi);
        if (lo < 0) lo = -m;
        hi = m;
      }
      if (lo == 0.0f && hi == 0.0f) lo = -1.0f, hi = 1.0f;
      const uint16_t half = float_to_half((hi - lo) / max_code);
      const float scale = std::max(half_to_float(half), 1e-5f);
      const float zero = sym ? static_cast<float>(1 << (bits - 1))
                             : std::min(max_code, std::max(1.0f, std::nearbyint(-lo / scale)));
      r.scales.push_back(float_to_half(scale));
      r.zeros.push_back(static_cast<uint32_t>(zero));
      for (int64_t k = start; k < start + g; ++k) {
        const float q = std::min(max_code, std::max(0.0f, std::nearbyint(data[n * r.K + k] / scale) + zero));
        r.codes[static_cast<size_t>(n * r.K + k)] = static_cast<uint32_t>(q);
      }
    }
  // scales / zeros were pushed row-major (n, group): (N, K/g)
  return r;
}

torch::Tensor reference_dequantized(const ReferenceQuantized& r) {
  torch::Tensor out = torch::empty({r.N, r.K});
  float* data = out.data_ptr<float>();
  const int64_t groups = r.K / r.g;
  for (int64_t n = 0; n < r.N; ++n)
    for (int64_t k = 0; k < r.K; ++k) {
      const size_t group = static_cast<size_t>(n * groups + k / r.g);
      const float q_minus_z =
          static_cast<float>(static_cast<int>(r.codes[static_cast<size_t>(n * r.K + k)]) - static_cast<int>(r.zeros[group]));
      data[n * r.K + k] = q_minus_z * half_to_float(r.scales[group]);
    }
  return out;
}

// AutoGPTQ's pack(): intweight = codes transposed (K, N); row r of qweight ORs intweight[r*pw + j] << bits*j;
// zeros - 1 transposed to (groups, N) and packed along N the same way.
std::map<std::string, torch::Tensor> reference_pack(const ReferenceQuantized& r) {
  const int64_t pw = 32 / r.bits, groups = r.K / r.g;
  std::vector<std::vector<uint32_t>> intweight(static_cast<size_t>(r.K), std::vector<uint32_t>(static_cast<size_t>(r.N)));
  for (int64_t n = 0; n < r.N; ++n)
    for (int64_t k = 0; k < r.K; ++k) intweight[k][n] = r.codes[static_cast<size_t>(n * r.K + k)];
  torch::Tensor qweight = torch::zeros({r.K / pw, r.N}, torch::kInt32);
  for (int64_t row = 0, i = 0; row < r.K / pw; ++row, i += pw)
    for (int64_t n = 0; n < r.N; ++n) {
      uint32_t word = 0;
      for (int64_t j = i; j < i + pw; ++j) word |= intweight[j][n] << (r.bits * (j - i));
      qweight[row][n] = static_cast<int32_t>(word);
    }
  torch::Tensor qzeros = torch::zeros({groups, r.N / pw}, torch::kInt32);
  torch::Tensor scales = torch::zeros({groups, r.N}, torch::kFloat32);
  for (int64_t gi = 0; gi < groups; ++gi) {
    for (int64_t col = 0, i = 0; col < r.N / pw; ++col, i += pw) {
      uint32_t word = 0;
      for (int64_t j = i; j < i + pw; ++j) word |= (r.zeros[static_cast<size_t>(j * groups + gi)] - 1) << (r.bits * (j - i));
      qzeros[gi][col] = static_cast<int32_t>(word);
    }
    for (int64_t n = 0; n < r.N; ++n) scales[gi][n] = half_to_float(r.scales[static_cast<size_t>(n * groups + gi)]);
  }
  torch::Tensor g_idx = torch::arange(r.K, torch::kInt32).div(r.g, "floor").to(torch::kInt32);
  return {{"qweight", qweight}, {"qzeros", qzeros}, {"scales", scales.to(torch::kFloat16)}, {"g_idx", g_idx}};
}

GroupQuantizedMatrix random_matrix(int bits, int64_t N, int64_t K, int64_t g, bool sym, uint32_t seed) {
  std::mt19937 rng(seed);
  GroupQuantizedMatrix m{bits, N, K, g, sym, {}, {}, {}};
  for (int64_t i = 0; i < N * K; ++i)
    m.values.push_back(static_cast<int8_t>(bits == 8 ? static_cast<int>(rng() % 256) - 128 : static_cast<int>(rng() % 16)));
  for (int64_t i = 0; i < N * K / g; ++i) {
    m.scales.push_back(half_to_float(float_to_half(std::ldexp(1.0f + static_cast<float>(rng() % 1000) / 1000.0f,
                                                              -static_cast<int>(rng() % 12)))));
    if (!sym) m.zero_points.push_back(static_cast<uint8_t>(1 + rng() % 15));
  }
  return m;
}

TEST(GptqLayout, PackUnpackRoundTripsForEveryCombination) {
  for (int bits : {4, 8})
    for (int64_t g : {32, 64, 128})
      for (bool sym : {true, false}) {
        if (bits == 8 && !sym) continue;  // refused by validate_scheme (below)
        const GroupQuantizedMatrix m = random_matrix(bits, 24, 256, g, sym, static_cast<uint32_t>(bits * 1000 + g + sym));
        for (GptqZeroFormat format : {GptqZeroFormat::kV1, GptqZeroFormat::kV2}) {
          const GroupQuantizedMatrix back = unpack_gptq(pack_gptq(m, format), g, format, "layer");
          SCOPED_TRACE(std::to_string(bits) + " bits, g " + std::to_string(g) + (sym ? " sym" : " asym"));
          EXPECT_EQ(back.values, m.values);
          EXPECT_EQ(back.scales, m.scales);
          EXPECT_EQ(back.symmetric, m.symmetric);
          EXPECT_EQ(back.zero_points, m.zero_points);
        }
      }
  expect_error([] { validate_scheme({8, 32, false}, "--bits"); }, {"--bits", "8-bit", "sym"});
  expect_error([] { validate_scheme({3, 32, true}, "--bits"); }, {"--bits", "bits must be 4 or 8, got 3"});
}

TEST(GptqLayout, PackingMatchesTheIndependentImplementation) {
  torch::manual_seed(3);
  for (int bits : {4, 8})
    for (bool sym : {true, false}) {
      if (bits == 8 && !sym) continue;
      torch::Tensor w = torch::randn({32, 128}) * 0.05;
      const ReferenceQuantized r = reference_rtn(w, bits, 32, sym);
      const GroupQuantizedMatrix m = quantize_weight(w, {bits, 32, sym});
      const GptqTensors packed = pack_gptq(m, GptqZeroFormat::kV1);
      const auto expected = reference_pack(r);
      const torch::Tensor qweight = expected.at("qweight").contiguous(), qzeros = expected.at("qzeros").contiguous();
      EXPECT_EQ(packed.qweight, std::vector<int32_t>(qweight.data_ptr<int32_t>(), qweight.data_ptr<int32_t>() + qweight.numel()));
      EXPECT_EQ(packed.qzeros, std::vector<int32_t>(qzeros.data_ptr<int32_t>(), qzeros.data_ptr<int32_t>() + qzeros.numel()));
      // Symmetric 4-bit zero points are 8, stored as 7 in every nibble.
      if (bits == 4 && sym) EXPECT_EQ(static_cast<uint32_t>(packed.qzeros[0]), 0x77777777u);
      if (bits == 8) EXPECT_EQ(static_cast<uint32_t>(packed.qzeros[0]), 0x7F7F7F7Fu);
    }
}

TEST(GroupQuantizer, RtnMatchesTheScalarDerivationAndStaysWithinHalfAStep) {
  torch::manual_seed(5);
  torch::Tensor w = torch::randn({16, 256}) * 0.03;
  w[0].narrow(0, 0, 64).abs_();  // a group with no negative weight (zero point clamped to 1)
  w[1].narrow(0, 0, 64).zero_();  // an all-zero group
  for (int bits : {4, 8})
    for (int64_t g : {32, 64, 128})
      for (bool sym : {true, false}) {
        if (bits == 8 && !sym) continue;
        SCOPED_TRACE(std::to_string(bits) + " bits, g " + std::to_string(g) + (sym ? " sym" : " asym"));
        const ReferenceQuantized r = reference_rtn(w, bits, g, sym);
        const GroupQuantizedMatrix m = quantize_weight(w, {bits, g, sym});
        for (size_t i = 0; i < r.codes.size(); ++i) {
          const int code = bits == 8 ? m.values[i] + 128 : m.values[i];
          ASSERT_EQ(code, static_cast<int>(r.codes[i])) << "weight " << i;
        }
        for (size_t i = 0; i < r.scales.size(); ++i) ASSERT_EQ(float_to_half(m.scales[i]), r.scales[i]);
        torch::Tensor expected = reference_dequantized(r);
        EXPECT_TRUE(torch::equal(dequantize(m), expected));
        EXPECT_TRUE(torch::equal(fake_quantize(w, {bits, g, sym}), expected));
        // Unclipped weights lie within half a step of their dequantized value (asymmetric 4-bit: the
        // group ranges include every weight unless the zero point was clamped to 1).
        if (!sym && bits == 4) {
          torch::Tensor step = torch::from_blob(const_cast<float*>(m.scales.data()), {16, 256 / g}).repeat_interleave(g, 1);
          torch::Tensor error = (expected - w).abs() - step / 2;
          EXPECT_LE(error.narrow(0, 2, 14).max().item<float>(), 1e-6f);
        }
      }
}

nlohmann::json gptq_quantization_config(int bits, int64_t g, bool sym) {
  return {{"quant_method", "gptq"}, {"bits", bits}, {"group_size", g}, {"sym", sym}, {"desc_act", false},
          {"checkpoint_format", "gptq"}};
}

// Writes `fixture` with every block linear quantized by the test's own RTN and packer, config.json
// carrying `quantization`; returns the dequantized weights by name.
std::map<std::string, torch::Tensor> write_reference_gptq(const std::string& fixture, const std::string& out,
                                                          int bits, int64_t g, bool sym,
                                                          const nlohmann::json& quantization) {
  const auto model = load_checkpoint(kFixtures + "/models/" + fixture);
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  std::map<std::string, torch::Tensor> dequantized;
  for (const auto& [name, tensor] : model->named_parameters()) {
    if (tensor.dim() == 2 && name.rfind("model.layers.", 0) == 0) {
      const ReferenceQuantized r = reference_rtn(tensor, bits, g, sym);
      const std::string prefix = name.substr(0, name.size() - 7);
      for (const auto& [part, value] : reference_pack(r)) tensors.emplace_back(prefix + "." + part, value);
      dequantized[name] = reference_dequantized(r);
    } else {
      tensors.emplace_back(name, tensor);
    }
  }
  fs::create_directories(out);
  write_safetensors(out + "/model.safetensors", tensors);
  std::ifstream in(kFixtures + "/models/" + fixture + "/config.json");
  nlohmann::json config = nlohmann::json::parse(in);
  config["quantization_config"] = quantization;
  std::ofstream(out + "/config.json") << config.dump(2);
  return dequantized;
}

TEST(GptqCheckpoint, IndependentlyPackedCheckpointLoadsAsTheDequantizedModel) {
  for (const char* fixture : {"qwen2-tiny", "llama-tiny"})
    for (int bits : {4, 8})
      for (bool sym : {true, false}) {
        if (bits == 8 && !sym) continue;
        SCOPED_TRACE(std::string(fixture) + " " + std::to_string(bits) + (sym ? " sym" : " asym"));
        ScratchDir dir(std::string(fixture) + std::to_string(bits) + std::to_string(sym));
        const auto dequantized =
            write_reference_gptq(fixture, dir.str(), bits, 32, sym, gptq_quantization_config(bits, 32, sym));
        LoadOptions dense;
        dense.dequantize = true;
        const auto loaded = load_checkpoint(dir.str(), dense);
        // The reference model: the fixture with the test's dequantized weights.
        const auto reference = load_checkpoint(kFixtures + "/models/" + fixture);
        {
          torch::NoGradGuard no_grad;
          for (auto& [name, tensor] : reference->named_parameters())
            if (dequantized.count(name)) tensor.copy_(dequantized.at(name));
        }
        for (const auto& [name, tensor] : loaded->named_parameters())
          if (dequantized.count(name)) ASSERT_TRUE(torch::equal(tensor, dequantized.at(name))) << name;
        torch::NoGradGuard no_grad;
        torch::Tensor tokens = torch::tensor({{1, 5, 9, 200, 17, 33}}, torch::kInt64);
        torch::Tensor positions = torch::arange(6, torch::kInt64).view({1, 6});
        // Same weights bit for bit, same operations in the same process: the logits are equal exactly.
        const torch::Tensor expected = reference->forward(tokens, positions);
        EXPECT_TRUE(torch::equal(loaded->forward(tokens, positions), expected));
        // Loaded for the int8 / int4 kernels (the default): the same weights through another summation
        // order, so within the float32 bound of the forward.
        const auto on_kernels = load_checkpoint(dir.str());
        testing::expect_within_bound(
            testing::max_abs_difference(on_kernels->forward(tokens, positions), expected),
            testing::float32_bound(testing::max_abs(expected), testing::forward_reduction_length(reference->config(), 6)),
            "kernel path against the dequantized model");
        EXPECT_EQ(load_quantization_config(dir.str()).scheme.bits, bits);
      }
}

TEST(GptqCheckpoint, WrittenCheckpointReloadsWithTheQuantizedWeights) {
  const auto model = load_checkpoint(kFixtures + "/models/llama-tiny");
  for (bool autoround_method : {false, true}) {
    QuantizationConfig config;
    config.scheme = {4, 32, false};
    config.method = autoround_method ? "autoround" : "rtn";
    if (autoround_method) config.autoround = AutoRoundSettings{};
    const QuantizedWeights weights = quantize_rtn(*model, config.scheme);
    ScratchDir dir(autoround_method ? "written-ar" : "written-rtn");
    save_gptq_checkpoint(*model, weights, config, dir.str());
    const auto loaded = load_checkpoint(dir.str());
    for (const auto& [name, tensor] : loaded->named_parameters()) {
      const auto entry = weights.find(name);
      if (entry != weights.end()) EXPECT_TRUE(torch::equal(tensor, dequantize(entry->second))) << name;
    }
    const QuantizationConfig back = load_quantization_config(dir.str());
    EXPECT_EQ(back.method, config.method);
    EXPECT_EQ(back.scheme.group_size, 32);
    EXPECT_FALSE(back.scheme.symmetric);
    EXPECT_EQ(back.autoround.has_value(), autoround_method);
    const QuantizedStorage storage = quantized_storage(dir.str());
    EXPECT_EQ(storage.quantized_linears, 14);
  }
}

TEST(AutoRound, LowersTheBlockOutputErrorBelowRtn) {
  const auto model = load_checkpoint(kFixtures + "/models/qwen2-tiny");
  at::Generator tokens_generator = make_generator(11);
  torch::Tensor tokens = torch::randint(0, 384, {16, 24}, tokens_generator, torch::kInt64);
  torch::Tensor positions = torch::arange(24, torch::kInt64).view({1, 24});
  torch::Tensor inputs, targets;
  {
    torch::NoGradGuard no_grad;
    inputs = model->embed(tokens);
    targets = block_output(*model, 0, {}, inputs, positions);
  }
  for (bool sym : {true, false}) {
    const QuantizationScheme scheme{4, 32, sym};
    AutoRoundSettings settings;
    settings.iters = 60;
    settings.lr = 1.0 / 60;
    settings.batch_size = 16;  // every sample in every step: iteration 0's loss is RTN's on the same data
    at::Generator generator = make_generator(1);
    BlockTuning tuning;
    const QuantizedWeights tuned = autoround_block(*model, 0, scheme, settings, inputs, targets, positions, generator, &tuning);
    QuantizedWeights rtn;
    for (const auto& name : block_linear_names(0)) rtn.emplace(name, quantize_rtn(*model, scheme).at(name));
    torch::NoGradGuard no_grad;
    const double rtn_error = torch::mse_loss(block_output(*model, 0, rtn, inputs, positions), targets).item<double>();
    const double tuned_error = torch::mse_loss(block_output(*model, 0, tuned, inputs, positions), targets).item<double>();
    SCOPED_TRACE(sym ? "sym" : "asym");
    EXPECT_NEAR(tuning.rtn_loss, rtn_error, 1e-6 * rtn_error);
    EXPECT_LT(tuned_error, rtn_error);
    EXPECT_NEAR(tuned_error, tuning.best_loss, 1e-6 * rtn_error);
  }
}

TEST(QuantizationErrors, BadInputNamesTheFileTensorOrKey) {
  const auto model = load_checkpoint(kFixtures + "/models/qwen2-tiny");
  // intermediate_size 160: group size 64 does not divide down_proj's in_features.
  expect_error([&] { quantize_rtn(*model, {4, 64, false}); }, {"mlp.down_proj.weight", "group size 64", "160"});
  expect_error([&] { quantize_rtn(*model, {3, 32, false}); }, {"bits must be 4 or 8, got 3"});

  ScratchDir dir("bad");
  const std::string path = dir.str() + "/q";
  write_reference_gptq("qwen2-tiny", path, 4, 32, false, gptq_quantization_config(4, 32, false));
  nlohmann::json config;
  {
    std::ifstream in(path + "/config.json");
    config = nlohmann::json::parse(in);
  }
  auto with_quantization = [&](const nlohmann::json& quantization) {
    nlohmann::json changed = config;
    changed["quantization_config"] = quantization;
    std::ofstream(path + "/config.json") << changed.dump(2);
  };
  nlohmann::json three = gptq_quantization_config(3, 32, false);
  with_quantization(three);
  expect_error([&] { load_checkpoint(path); }, {"config.json", "'bits' is 3"});
  nlohmann::json missing = gptq_quantization_config(4, 32, false);
  missing.erase("group_size");
  with_quantization(missing);
  expect_error([&] { load_checkpoint(path); }, {"config.json", "missing key 'group_size'"});
  with_quantization(gptq_quantization_config(4, 48, false));
  expect_error([&] { load_checkpoint(path); }, {"model.safetensors", "group_size 48 does not divide in_features 64"});
  nlohmann::json other = gptq_quantization_config(4, 32, false);
  other["quant_method"] = "awq";
  with_quantization(other);
  expect_error([&] { load_checkpoint(path); }, {"config.json", "quant_method 'awq'"});
  // AutoRound's own config with its GPTQ packing loads; its other packings are refused by name.
  nlohmann::json autoround = gptq_quantization_config(4, 32, false);
  autoround["quant_method"] = "auto-round";
  autoround["packing_format"] = "auto_round:auto_gptq";
  with_quantization(autoround);
  ASSERT_NO_THROW(load_checkpoint(path));
  EXPECT_EQ(load_quantization_config(path).method, "autoround");
  autoround["packing_format"] = "auto_round:auto_awq";
  with_quantization(autoround);
  expect_error([&] { load_checkpoint(path); }, {"config.json", "'packing_format' is 'auto_round:auto_awq'"});
  with_quantization(gptq_quantization_config(4, 32, false));
  ASSERT_NO_THROW(load_checkpoint(path));
  EXPECT_EQ(load_quantization_config(path).method, "gptq");

  // qweight of the wrong shape: transposed.
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  {
    const SafetensorsFile file(path + "/model.safetensors");
    for (const auto& name : file.names()) {
      torch::Tensor t = file.load(name);
      if (name == "model.layers.1.mlp.up_proj.qweight") t = t.t().contiguous();
      tensors.emplace_back(name, t);
    }
  }
  write_safetensors(path + "/model.safetensors", tensors);
  expect_error([&] { load_checkpoint(path); },
               {"model.safetensors", "'model.layers.1.mlp.up_proj.qweight' has shape [160, 8], expected [8, 160]"});
}

}  // namespace
}  // namespace stepwise
