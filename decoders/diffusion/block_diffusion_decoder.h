// The block-diffusion decoder (Fast-dLLM v2, SDAR, BD3-LM): the generation is decoded block by block
// under block-causal attention (causal between blocks, bidirectional inside one); blocks are aligned to
// token positions, so the block holding a prompt's tail also holds the first generated tokens. Inside a
// block its sub-blocks are decoded left to right, each step committing a fixed count (a reveal schedule)
// or every position above a confidence threshold; finished blocks stay in the KV cache as in AR
// decoding, so the cost of a block does not grow with the text before it (block_forward.h).
// With block_length 1 and one step per block on a model with Dream's shift this is AR greedy decoding;
// with one block covering the canvas it is full-sequence diffusion. See docs/decoders.md.
#pragma once

#include <memory>
#include <string>

#include "decoders/decoder.h"
#include "decoders/diffusion/block_config.h"

namespace stepwise {

class Denoiser;
class Transformer;

class BlockDiffusionDecoder : public Decoder {
 public:
  // Throws stepwise::Error for an invalid config or a model without a mask token.
  BlockDiffusionDecoder(std::shared_ptr<const Transformer> model, BlockDiffusionConfig config);
  BlockDiffusionDecoder(std::shared_ptr<const Denoiser> model, BlockDiffusionConfig config);

  // request.max_new_tokens is the generation length (any length: the last block may be cut short).
  DecodeResult decode(const DecodeRequest& request) override;
  std::string describe() const override;
  const BlockDiffusionConfig& config() const { return config_; }

 private:
  std::shared_ptr<const Denoiser> model_;
  BlockDiffusionConfig config_;
};

}  // namespace stepwise
