// Building the diffusion canvas and reading it back.
#include "decoders/diffusion/canvas.h"

#include <torch/torch.h>

#include <algorithm>

#include "core/error.h"
#include "decoders/batch.h"

namespace stepwise {

Canvas make_canvas(const std::vector<std::vector<int64_t>>& prompts, int64_t gen_len, const TransformerConfig& config,
                   const std::vector<FixedToken>& fixed, const torch::Device& device) {
  check(config.mask_token_id.has_value(), "diffusion decoding needs a mask token, but the model (model_type '",
        config.model_type, "') has no mask_token_id in its config.json");
  check(gen_len >= 1, "diffusion: the generation length must be >= 1, got ", gen_len);
  const int64_t mask_id = *config.mask_token_id;
  check(mask_id >= 0 && mask_id < config.vocab_size, "diffusion: mask_token_id ", mask_id,
        " is outside the vocabulary [0, ", config.vocab_size, ")");
  int64_t longest = 0;
  for (const auto& prompt : prompts) {
    longest = std::max(longest, static_cast<int64_t>(prompt.size()));
    for (int64_t id : prompt)
      check(id >= 0 && id < config.vocab_size, "diffusion: prompt token ", id, " is outside the vocabulary [0, ",
            config.vocab_size, ")");
  }
  // Checked before the canvas is allocated: the model has no positions past max_position_embeddings
  // (0: not set, in a config built in code).
  check(config.max_position_embeddings <= 0 || gen_len <= config.max_position_embeddings - longest, "diffusion: prompt (", longest,
        " tokens) + generation length ", gen_len, " exceeds the model's max_position_embeddings (",
        config.max_position_embeddings, ")");
  const int64_t pad_id = config.pad_token_id.value_or(config.eos_token_ids.empty() ? 0 : config.eos_token_ids[0]);
  const bool padded = std::any_of(prompts.begin(), prompts.end(),
                                  [longest](const auto& prompt) { return static_cast<int64_t>(prompt.size()) < longest; });
  if (padded) check_token_ids(config, {pad_id}, "diffusion: the pad token (pad_token_id or eos)");
  PaddedBatch batch = left_pad(prompts, pad_id, gen_len, mask_id, device);

  Canvas canvas;
  canvas.tokens = batch.tokens;
  canvas.positions = batch.positions;
  canvas.gen_start = batch.width - gen_len;
  canvas.gen_len = gen_len;
  canvas.mask_id = mask_id;
  canvas.prompt = batch.real.clone();
  canvas.prompt.narrow(1, canvas.gen_start, gen_len).fill_(false);
  if (batch.has_padding()) canvas.key_padding = batch.real;
  for (const FixedToken& entry : fixed) {
    check(entry.position >= 0 && entry.position < gen_len, "diffusion: fixed position ", entry.position,
          " lies outside the generation [0, ", gen_len, ")");
    check(entry.token >= 0 && entry.token < config.vocab_size && entry.token != mask_id, "diffusion: fixed token ",
          entry.token, " must be a vocabulary id other than the mask token ", mask_id);
    canvas.tokens.select(1, canvas.gen_start + entry.position).fill_(entry.token);
  }
  return canvas;
}

bool MaskedColumns::none() const {
  return std::all_of(counts.begin(), counts.end(), [](int64_t n) { return n == 0; });
}

MaskedColumns masked_columns(const Canvas& canvas, int64_t begin, int64_t end) {
  return masked_columns(canvas.tokens, canvas.mask_id, begin, end);
}

MaskedColumns masked_columns(const torch::Tensor& tokens, int64_t mask_id, int64_t begin, int64_t end) {
  const int64_t row_count = tokens.size(0);
  torch::Tensor masked = (tokens.narrow(1, begin, end - begin) == mask_id).to(torch::kCPU);  // (B, L)
  MaskedColumns out;
  std::vector<torch::Tensor> per_row;
  int64_t widest = 1;
  for (int64_t r = 0; r < row_count; ++r) {
    per_row.push_back(masked[r].nonzero().view({-1}) + begin);
    out.counts.push_back(per_row.back().numel());
    widest = std::max(widest, out.counts.back());
  }
  out.columns = torch::full({row_count, widest}, begin, torch::kInt64);
  for (int64_t r = 0; r < row_count; ++r)
    out.columns[r].narrow(0, 0, out.counts[static_cast<size_t>(r)]).copy_(per_row[static_cast<size_t>(r)]);
  out.columns = out.columns.to(tokens.device());
  return out;
}

std::vector<std::vector<int64_t>> generated_tokens(const Canvas& canvas) {
  torch::Tensor generated = canvas.tokens.narrow(1, canvas.gen_start, canvas.gen_len).to(torch::kCPU).contiguous();
  std::vector<std::vector<int64_t>> out;
  for (int64_t r = 0; r < generated.size(0); ++r) {
    const int64_t* row = generated[r].data_ptr<int64_t>();
    out.emplace_back(row, row + canvas.gen_len);
  }
  return out;
}

}  // namespace stepwise
