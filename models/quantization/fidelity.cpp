// KL and top-1 agreement between two models' logits, accumulated in float64.
#include "models/quantization/fidelity.h"

#include <torch/torch.h>

#include <algorithm>

#include "core/error.h"

namespace stepwise {

Fidelity compare_models(const Transformer& reference, const Transformer& quantized, const torch::Tensor& tokens,
                        int64_t batch) {
  check(tokens.dim() == 2 && tokens.numel() > 0, "fidelity: no evaluation tokens");
  check(reference.config().vocab_size == quantized.config().vocab_size, "fidelity: the models' vocabularies differ");
  torch::NoGradGuard no_grad;
  const TransformerConfig& config = reference.config();
  torch::Tensor inputs = tokens.clone();
  ForwardOptions options;
  if (config.bidirectional) {
    options.attention = AttentionSpec::bidirectional();
    if (config.mask_token_id) {
      const int64_t half = inputs.size(1) / 2;
      inputs.narrow(1, half, inputs.size(1) - half).fill_(*config.mask_token_id);
    }
  }
  const int64_t length = inputs.size(1);
  // Float64 log-probabilities of both models: at most about 2^24 values per forward (128 MiB each), so a
  // large vocabulary compares fewer sequences at a time.
  batch = std::max<int64_t>(1, std::min(batch, (int64_t{1} << 24) / std::max<int64_t>(1, length * config.vocab_size)));
  double kl_sum = 0.0, agree = 0.0;
  int64_t count = 0;
  for (int64_t start = 0; start < inputs.size(0); start += batch) {
    const int64_t rows = std::min(batch, inputs.size(0) - start);
    torch::Tensor chunk = inputs.narrow(0, start, rows);
    torch::Tensor positions = torch::arange(length, torch::kInt64).view({1, length}).expand({rows, length});
    torch::Tensor p = torch::log_softmax(reference.forward(chunk, positions, options).to(torch::kFloat64), -1);
    torch::Tensor q = torch::log_softmax(quantized.forward(chunk, positions, options).to(torch::kFloat64), -1);
    kl_sum += (p.exp() * (p - q)).sum(-1).sum().item<double>();
    agree += (p.argmax(-1) == q.argmax(-1)).sum().item<double>();
    count += rows * length;
  }
  return {kl_sum / static_cast<double>(count), agree / static_cast<double>(count), count};
}

}  // namespace stepwise
