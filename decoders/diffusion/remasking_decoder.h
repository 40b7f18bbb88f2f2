// The remasking decoder of "Beyond Autoregression" (HKUNLP diffusion-vs-ar): T forward passes over
// the whole canvas; each re-predicts every generation position by argmax and scores it by its
// log-probability, then re-masks the lowest-scoring int(N * rate) positions (earlier ones included),
// with rate = t/T (linear) or cos((T - t)/T * pi/2) (cosine) for t = T-1 .. 1. Optional Gumbel noise on
// the scores (scaled by noise_scale * rate) makes the choice stochastic. Fixed spans never change.
// That is the study's arithmetic for models with Dream's logit shift. A model without the shift has no
// trained output at a column that holds a token, so there only masked columns are re-predicted; a
// column holding a token keeps it, scored by the log-probability it was committed with, and may still
// be re-masked.
#pragma once

#include <memory>
#include <string>

#include "decoders/decoder.h"
#include "decoders/diffusion/diffusion_config.h"

namespace stepwise {

class Denoiser;
class Transformer;

class RemaskingDecoder : public Decoder {
 public:
  RemaskingDecoder(std::shared_ptr<const Transformer> model, RemaskingConfig config);
  RemaskingDecoder(std::shared_ptr<const Denoiser> model, RemaskingConfig config);

  DecodeResult decode(const DecodeRequest& request) override;
  std::string describe() const override;
  const RemaskingConfig& config() const { return config_; }

 private:
  std::shared_ptr<const Denoiser> model_;
  RemaskingConfig config_;
};

}  // namespace stepwise
