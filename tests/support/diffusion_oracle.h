// A test double for the diffusion decoders: a Denoiser that knows the answer. At the canvas position
// holding generated token j (read from the position ids, so padding and cache windows are honoured)
// it puts almost all mass on answer[j], with a confidence that grows with j, and keeps the forward
// contract (logits_at, cache writes and length). Every decoding mode run against it must reconstruct
// the answer; the decoder code path is the real one.
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "decoders/diffusion/denoiser.h"

namespace stepwise::testing {

class OracleDenoiser : public Denoiser {
 public:
  static constexpr int64_t kVocab = 64;
  static constexpr int64_t kMaskId = 63;

  // `prompt_length`: the length of every prompt decoded with it; `shift`: Dream-style logit shift.
  OracleDenoiser(std::vector<int64_t> answer, int64_t prompt_length, bool shift)
      : answer_(std::move(answer)), prompt_length_(prompt_length) {
    config_.model_type = "oracle";
    config_.vocab_size = kVocab;
    config_.hidden_size = 1;
    config_.num_layers = 1;
    config_.num_heads = 1;
    config_.num_kv_heads = 1;
    config_.head_dim = 1;
    config_.bidirectional = true;
    config_.shift_logits = shift;
    config_.mask_token_id = kMaskId;
    config_.pad_token_id = 0;
  }

  const TransformerConfig& config() const override { return config_; }
  torch::Device device() const override { return torch::kCPU; }
  KvCache make_cache(int64_t batch, int64_t capacity) const override {
    return KvCache(1, batch, 1, capacity, 1, torch::TensorOptions().dtype(torch::kFloat32));
  }

  torch::Tensor forward(const torch::Tensor& tokens, const torch::Tensor& positions,
                        const ForwardOptions& options) const override {
    const int64_t batch = tokens.size(0), length = tokens.size(1);
    if (options.cache != nullptr) {
      // Writes like a one-layer model (its keys and values carry nothing), so the cache's length moves
      // exactly as under the transformer.
      const int64_t start = options.cache_write_start.value_or(options.cache->length());
      const torch::Tensor nothing = torch::zeros({batch, 1, length, 1});  // (B, H_kv, T, D)
      options.cache->write(0, start, nothing, nothing);
    }
    torch::Tensor logits = torch::zeros({batch, length, kVocab});  // (B, T, V)
    auto position = positions.accessor<int64_t, 2>();
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t t = 0; t < length; ++t) {
        const int64_t j = position[b][t] - prompt_length_ + (config_.shift_logits ? 1 : 0);
        if (j < 0 || j >= static_cast<int64_t>(answer_.size())) continue;
        logits[b][t][answer_[static_cast<size_t>(j)]] = 14.0 + 0.25 * static_cast<double>(j);
      }
    if (options.logits_at) {
      const torch::Tensor& index = *options.logits_at;  // (B, K)
      logits = logits.gather(1, index.unsqueeze(-1).expand({-1, -1, kVocab}));
    }
    return logits;
  }

 private:
  TransformerConfig config_;
  std::vector<int64_t> answer_;
  int64_t prompt_length_;
};

}  // namespace stepwise::testing
