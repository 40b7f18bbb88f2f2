// Building the block-aligned canvas and reading it back.
#include "decoders/diffusion/block_canvas.h"

#include <torch/torch.h>

#include <algorithm>

#include "core/error.h"

namespace stepwise {

int64_t BlockCanvas::first_generation_block() const {
  return *std::min_element(gen_start.begin(), gen_start.end()) / block_length;
}

BlockCanvas make_block_canvas(const std::vector<std::vector<int64_t>>& prompts, int64_t gen_len,
                              int64_t block_length, const TransformerConfig& config, const torch::Device& device) {
  check(config.mask_token_id.has_value(), "block diffusion needs a mask token, but the model (model_type '",
        config.model_type, "') has no mask_token_id in its config.json");
  check(gen_len >= 1, "block_diffusion: the generation length must be >= 1, got ", gen_len);
  check(block_length >= 1, "block_diffusion: block_length must be >= 1, got ", block_length);
  check(!prompts.empty(), "block_diffusion: the request has no prompt");
  const int64_t mask_id = *config.mask_token_id;
  check(mask_id >= 0 && mask_id < config.vocab_size, "block_diffusion: mask_token_id ", mask_id,
        " is outside the vocabulary [0, ", config.vocab_size, ")");
  int64_t longest = 0;
  for (size_t r = 0; r < prompts.size(); ++r) {
    const auto& prompt = prompts[r];
    check(!prompt.empty() || !config.shift_logits, "block_diffusion: prompt ", r,
          " is empty; with the logit shift the first generated token is read from the token before it");
    longest = std::max(longest, static_cast<int64_t>(prompt.size()));
    for (int64_t id : prompt) {
      check(id >= 0 && id < config.vocab_size, "block_diffusion: prompt ", r, " token ", id,
            " is outside the vocabulary [0, ", config.vocab_size, ")");
      check(id != mask_id, "block_diffusion: prompt ", r, " holds the mask token ", mask_id);
    }
  }
  check(config.max_position_embeddings <= 0 || gen_len <= config.max_position_embeddings - longest,
        "block_diffusion: prompt (", longest, " tokens) + generation length ", gen_len,
        " exceeds the model's max_position_embeddings (", config.max_position_embeddings, ")");
  const int64_t pad_id = config.pad_token_id.value_or(config.eos_token_ids.empty() ? 0 : config.eos_token_ids[0]);

  const int64_t rows = static_cast<int64_t>(prompts.size());
  std::vector<int64_t> offsets(prompts.size());  // left padding of each row, a multiple of block_length
  int64_t width = 0;
  for (size_t r = 0; r < prompts.size(); ++r) {
    const int64_t length = static_cast<int64_t>(prompts[r].size());
    offsets[r] = (longest - length) / block_length * block_length;
    width = std::max(width, offsets[r] + length + gen_len);
  }
  torch::Tensor tokens = torch::full({rows, width}, pad_id, torch::kInt64);
  torch::Tensor positions = torch::zeros({rows, width}, torch::kInt64);
  torch::Tensor real = torch::zeros({rows, width}, torch::kBool);
  BlockCanvas canvas;
  for (size_t r = 0; r < prompts.size(); ++r) {
    const int64_t length = static_cast<int64_t>(prompts[r].size());
    const int64_t row = static_cast<int64_t>(r);
    if (length > 0) tokens[row].narrow(0, offsets[r], length).copy_(torch::tensor(prompts[r], torch::kInt64));
    tokens[row].narrow(0, offsets[r] + length, gen_len).fill_(mask_id);
    positions[row].narrow(0, offsets[r], length + gen_len).copy_(torch::arange(length + gen_len, torch::kInt64));
    real[row].narrow(0, offsets[r], length + gen_len).fill_(true);
    canvas.gen_start.push_back(offsets[r] + length);
  }
  if (!real.all().item<bool>()) {
    check_token_ids(config, {pad_id}, "block_diffusion: the pad token (pad_token_id or eos)");
    check(pad_id != mask_id, "block_diffusion: the pad token ", pad_id, " is the mask token");
    canvas.key_padding = real.to(device);
  }
  canvas.tokens = tokens.to(device);
  canvas.positions = positions.to(device);
  canvas.gen_len = gen_len;
  canvas.block_length = block_length;
  canvas.mask_id = mask_id;
  return canvas;
}

std::vector<std::vector<int64_t>> generated_tokens(const BlockCanvas& canvas) {
  torch::Tensor tokens = canvas.tokens.to(torch::kCPU).contiguous();
  std::vector<std::vector<int64_t>> out;
  for (int64_t r = 0; r < canvas.rows(); ++r) {
    const int64_t* row = tokens[r].data_ptr<int64_t>() + canvas.gen_start[static_cast<size_t>(r)];
    out.emplace_back(row, row + canvas.gen_len);
  }
  return out;
}

}  // namespace stepwise
