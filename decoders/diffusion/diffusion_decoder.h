// The masked-diffusion decoder: mask tokens after each prompt, revealed block by block over `steps`
// forwards (Dream, LLaDA, Fast-dLLM and cosine settings, all from one DiffusionConfig). Each step runs
// one forward (two with guidance), then every row commits some of its masked block positions;
// committed tokens never change. Reveal counts use each row's own masked count (Dream uses the batch
// average, which can re-mask decoded positions of a row); see docs/decoders.md.
#pragma once

#include <memory>
#include <string>

#include "decoders/decoder.h"
#include "decoders/diffusion/diffusion_config.h"

namespace stepwise {

class Denoiser;
class PrefixReuse;
class Transformer;

class DiffusionDecoder : public Decoder {
 public:
  // Throws stepwise::Error for an invalid config or a model without a mask token.
  // `reuse` (optional, bound to `model`) serves the prompt part of the first cache refresh; it only
  // applies with cache: prefix | dual and without guidance (see canvas_forward.h).
  DiffusionDecoder(std::shared_ptr<const Transformer> model, DiffusionConfig config,
                   std::shared_ptr<PrefixReuse> reuse = nullptr);
  DiffusionDecoder(std::shared_ptr<const Denoiser> model, DiffusionConfig config,
                   std::shared_ptr<PrefixReuse> reuse = nullptr);

  // request.max_new_tokens is the generation length (must be a multiple of block_length).
  DecodeResult decode(const DecodeRequest& request) override;
  std::string describe() const override;
  const DiffusionConfig& config() const { return config_; }

 private:
  std::shared_ptr<const Denoiser> model_;
  DiffusionConfig config_;
  std::shared_ptr<PrefixReuse> reuse_;
};

}  // namespace stepwise
