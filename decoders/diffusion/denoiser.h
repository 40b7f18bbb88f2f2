// What the diffusion decoders need from a model: its configuration (mask id, logit shift), a forward
// pass with the transformer's options, and a KV cache shaped for it. TransformerDenoiser adapts the
// shared Transformer; tests substitute an oracle so every decoding mode runs through the real decoder
// code against a model whose answer is known.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <utility>

#include "core/error.h"
#include "core/tensor/kv_cache.h"
#include "models/transformer.h"
#include "models/transformer_config.h"

namespace stepwise {

class Denoiser {
 public:
  virtual ~Denoiser() = default;
  virtual const TransformerConfig& config() const = 0;
  // tokens (B, T), positions (B, T) -> raw (unshifted) float32 logits (B, T | K, V), with the
  // Transformer::forward contract for options (cache writes and length, logits_at).
  virtual torch::Tensor forward(const torch::Tensor& tokens, const torch::Tensor& positions,
                                const ForwardOptions& options) const = 0;
  virtual KvCache make_cache(int64_t batch, int64_t capacity) const = 0;
  virtual torch::Device device() const = 0;
};

class TransformerDenoiser : public Denoiser {
 public:
  explicit TransformerDenoiser(std::shared_ptr<const Transformer> model) : model_(std::move(model)) {
    check(model_ != nullptr, "diffusion decoder: no model given");
  }
  const TransformerConfig& config() const override { return model_->config(); }
  torch::Tensor forward(const torch::Tensor& tokens, const torch::Tensor& positions,
                        const ForwardOptions& options) const override {
    return model_->forward(tokens, positions, options);
  }
  KvCache make_cache(int64_t batch, int64_t capacity) const override { return model_->make_cache(batch, capacity); }
  torch::Device device() const override { return model_->device(); }

 private:
  std::shared_ptr<const Transformer> model_;
};

}  // namespace stepwise
