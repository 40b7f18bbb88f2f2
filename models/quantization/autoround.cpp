// RTN and AutoRound over a Transformer's blocks (Transformer::block_forward runs one block with
// replacement weights, so gradients reach the rounding parameters).
#include "models/quantization/autoround.h"

#include <torch/torch.h>

#include <chrono>
#include <limits>

#include "core/error.h"
#include "core/tensor/sampling.h"
#include "models/quantization/group_quantizer.h"

namespace stepwise {
namespace {

const char* const kBlockLinears[] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                                     "mlp.gate_proj",    "mlp.up_proj",      "mlp.down_proj"};

// The slot of `linear` (an entry of kBlockLinears) in a block's weights.
torch::Tensor& slot_of(LayerWeights& weights, size_t linear) {
  switch (linear) {
    case 0: return weights.q_proj;
    case 1: return weights.k_proj;
    case 2: return weights.v_proj;
    case 3: return weights.o_proj;
    case 4: return weights.gate_proj;
    case 5: return weights.up_proj;
    default: return weights.down_proj;
  }
}

AttentionSpec attention_of(const Transformer& model) {
  return model.config().bidirectional ? AttentionSpec::bidirectional() : AttentionSpec::causal();
}

void check_quantizable(const Transformer& model, const QuantizationScheme& scheme, bool lm_head) {
  validate_scheme(scheme, "quantize");
  for (const auto& [name, tensor] : model.named_parameters()) {
    if (tensor.dim() != 2 || name == "model.embed_tokens.weight") continue;
    if (name == "lm_head.weight" && !lm_head) continue;
    check_groups_divide(scheme, tensor.size(1), name);
    const int64_t per_word = 32 / scheme.bits;
    check(tensor.size(0) % per_word == 0 && tensor.size(1) % per_word == 0, name, ": shape (", tensor.size(0), ", ",
          tensor.size(1), ") must be multiples of ", per_word, " for the GPTQ layout at ", scheme.bits, " bits");
  }
  check(!lm_head || !model.config().tie_word_embeddings,
        "quantize: the LM head is tied to the embedding, which stays unquantized; it cannot be quantized alone");
}

// One rounding parameter set per linear of a block, as leaf tensors for the optimiser.
struct LinearTuning {
  torch::Tensor weight;  // (N, K) float32, the full-precision weight
  RoundingParameters parameters;
};

}  // namespace

std::vector<std::string> block_linear_names(int64_t layer) {
  std::vector<std::string> out;
  for (const char* linear : kBlockLinears)
    out.push_back("model.layers." + std::to_string(layer) + "." + linear + ".weight");
  return out;
}

QuantizedWeights quantize_rtn(const Transformer& model, const QuantizationScheme& scheme, bool lm_head) {
  check_quantizable(model, scheme, lm_head);
  QuantizedWeights out;
  for (const auto& [name, tensor] : model.named_parameters()) {
    const bool block_linear = tensor.dim() == 2 && name.rfind("model.layers.", 0) == 0;
    if (block_linear || (lm_head && name == "lm_head.weight"))
      out.emplace(name, quantize_weight(tensor.detach().to(torch::kCPU, torch::kFloat32), scheme));
  }
  return out;
}

torch::Tensor block_output(const Transformer& model, int64_t layer, const QuantizedWeights& weights,
                           const torch::Tensor& x, const torch::Tensor& positions) {
  LayerWeights replaced = model.layer(layer);
  const std::vector<std::string> names = block_linear_names(layer);
  for (size_t i = 0; i < names.size(); ++i) {
    const auto entry = weights.find(names[i]);
    if (entry != weights.end())
      slot_of(replaced, i) = dequantize(entry->second).to(x.device(), slot_of(replaced, i).scalar_type());
  }
  return model.block_forward(replaced, x, positions, attention_of(model));
}

QuantizedWeights autoround_block(const Transformer& model, int64_t layer, const QuantizationScheme& scheme,
                                 const AutoRoundSettings& settings, const torch::Tensor& q_inputs,
                                 const torch::Tensor& targets, const torch::Tensor& positions,
                                 at::Generator& generator, BlockTuning* tuning) {
  const auto start = std::chrono::steady_clock::now();
  const LayerWeights& original = model.layer(layer);
  std::vector<LinearTuning> linears;
  std::vector<torch::Tensor> parameters;
  for (size_t i = 0; i < std::size(kBlockLinears); ++i) {
    LayerWeights copy = original;
    LinearTuning linear;
    linear.weight = slot_of(copy, i).detach().to(torch::kFloat32);
    const int64_t rows = linear.weight.size(0), groups = linear.weight.size(1) / scheme.group_size;
    linear.parameters.offsets = torch::zeros_like(linear.weight).requires_grad_(true);
    linear.parameters.min_scale = torch::ones({rows, groups}).requires_grad_(true);
    linear.parameters.max_scale = torch::ones({rows, groups}).requires_grad_(true);
    parameters.insert(parameters.end(),
                      {linear.parameters.offsets, linear.parameters.min_scale, linear.parameters.max_scale});
    linears.push_back(std::move(linear));
  }
  const int64_t samples = q_inputs.size(0);
  const int64_t batch = std::min(settings.batch_size, samples);
  const AttentionSpec attention = attention_of(model);
  double best_loss = std::numeric_limits<double>::infinity();
  std::vector<torch::Tensor> best = parameters;  // replaced by clones at the first iteration
  BlockTuning report;
  report.layer = layer;
  for (int64_t iteration = 0; iteration < settings.iters; ++iteration) {
    torch::Tensor pick = torch::randperm(samples, generator, torch::kInt64).narrow(0, 0, batch);
    LayerWeights trial = original;
    for (size_t i = 0; i < linears.size(); ++i)
      slot_of(trial, i) = fake_quantize(linears[i].weight, scheme, linears[i].parameters).to(original.q_proj.dtype());
    torch::Tensor output = model.block_forward(trial, q_inputs.index_select(0, pick), positions, attention);
    torch::Tensor loss = torch::mse_loss(output.to(torch::kFloat32), targets.index_select(0, pick).to(torch::kFloat32));
    const double value = loss.item<double>();
    if (iteration == 0) report.rtn_loss = value;
    if (value < best_loss) {  // the parameters that produced this loss, before the step below moves them
      best_loss = value;
      report.best_iteration = iteration;
      for (size_t p = 0; p < parameters.size(); ++p) best[p] = parameters[p].detach().clone();
    }
    for (auto& p : parameters) p.mutable_grad() = torch::Tensor();
    loss.backward();
    // SignSGD with the learning rate decaying linearly from lr to 0 over the iterations.
    const double rate = settings.lr * (1.0 - static_cast<double>(iteration) / static_cast<double>(settings.iters));
    torch::NoGradGuard no_grad;
    for (size_t p = 0; p < parameters.size(); ++p) {
      if (!parameters[p].grad().defined()) continue;
      parameters[p].sub_(parameters[p].grad().sign() * rate);
      if (p % 3 != 0) parameters[p].clamp_(0.0, 1.0);  // min/max scales stay in [0, 1]
    }
  }
  QuantizedWeights out;
  const std::vector<std::string> names = block_linear_names(layer);
  for (size_t i = 0; i < linears.size(); ++i) {
    RoundingParameters chosen{best[3 * i], best[3 * i + 1], best[3 * i + 2]};
    out.emplace(names[i], quantize_weight(linears[i].weight, scheme, chosen));
  }
  report.best_loss = best_loss;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (tuning != nullptr) *tuning = report;
  return out;
}

QuantizedWeights quantize_autoround(const Transformer& model, const torch::Tensor& calibration,
                                    const QuantizationScheme& scheme, const AutoRoundSettings& settings,
                                    bool lm_head, const std::function<void(const BlockTuning&)>& on_block) {
  check_quantizable(model, scheme, lm_head);
  check(calibration.dim() == 2 && calibration.size(0) >= 1 && calibration.size(1) >= 1,
        "quantize: calibration must hold at least one sequence of at least one token");
  check(settings.iters >= 1 && settings.batch_size >= 1, "quantize: iters and batch size must be at least 1");
  at::Generator generator = make_generator(settings.seed);
  const int64_t length = calibration.size(1);
  torch::Tensor positions = torch::arange(length, torch::kInt64).view({1, length}).to(model.device());
  torch::Tensor fp_inputs;
  {
    torch::NoGradGuard no_grad;
    fp_inputs = model.embed(calibration.to(model.device()));  // (S, T, H)
  }
  torch::Tensor q_inputs = fp_inputs;
  QuantizedWeights out;
  const int64_t chunk = std::max<int64_t>(1, settings.batch_size);
  auto blockwise = [&](int64_t layer, const QuantizedWeights& weights, const torch::Tensor& x) {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> parts;
    for (int64_t s = 0; s < x.size(0); s += chunk)
      parts.push_back(block_output(model, layer, weights, x.narrow(0, s, std::min(chunk, x.size(0) - s)), positions));
    return torch::cat(parts, 0);
  };
  for (int64_t layer = 0; layer < model.config().num_layers; ++layer) {
    const torch::Tensor targets = blockwise(layer, {}, fp_inputs);
    BlockTuning tuning;
    QuantizedWeights block = autoround_block(model, layer, scheme, settings, q_inputs, targets, positions,
                                             generator, &tuning);
    q_inputs = blockwise(layer, block, q_inputs);
    fp_inputs = targets;
    out.insert(block.begin(), block.end());
    if (on_block) on_block(tuning);
  }
  if (lm_head)
    for (const auto& [name, tensor] : model.named_parameters())
      if (name == "lm_head.weight")
        out.emplace(name, quantize_weight(tensor.detach().to(torch::kCPU, torch::kFloat32), scheme));
  return out;
}

}  // namespace stepwise
