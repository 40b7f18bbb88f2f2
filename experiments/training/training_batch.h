// Training examples (source ids, target ids) and the padded batches built from them. A row is
// `source target` followed by pad ids on the right up to the longest row of the batch; pads are
// excluded from attention (key padding) and from every loss. Only target tokens are ever scored.
// Diffusion training fixes the target length first (pad_targets), so the model also learns to fill
// the unused end of a decoding canvas, as in the diffusion-vs-AR study.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace stepwise::training {

struct TrainingExample {
  std::vector<int64_t> source_ids;  // prompt, e.g. `puzzle [SEP]`
  std::vector<int64_t> target_ids;  // answer, e.g. `solution [EOS]` (plus fill tokens after pad_targets)
};

struct TrainingBatch {
  torch::Tensor tokens;       // (B, T) int64: source, target, then pad_id
  torch::Tensor positions;    // (B, T) int64: 0..T-1 in every row
  torch::Tensor real;         // (B, T) bool: true for source and target tokens (the key-padding mask)
  torch::Tensor target_mask;  // (B, T) bool: true for target tokens, the only ones a loss may score

  int64_t batch_size() const { return tokens.size(0); }
  int64_t width() const { return tokens.size(1); }
};

// The rows `indices` of `examples` as one right-padded batch. Throws stepwise::Error for an empty
// selection, an index out of range or an example with an empty target.
TrainingBatch make_training_batch(const std::vector<TrainingExample>& examples, const std::vector<int64_t>& indices,
                                  int64_t pad_id);

// Every example's target extended with `fill_id` to exactly `length` tokens; stepwise::Error names the
// first example whose target is already longer.
std::vector<TrainingExample> pad_targets(std::vector<TrainingExample> examples, int64_t length, int64_t fill_id);

// Throws stepwise::Error naming `what` (e.g. "training set") and the first example holding a token id
// outside [0, vocab_size), or the pad id when it lies outside. Checked once per data set, where the data
// enters training: the forward pass does not check token ids.
void check_example_tokens(const std::vector<TrainingExample>& examples, int64_t pad_id, int64_t vocab_size,
                          const std::string& what);

// Longest target among `examples` (0 when empty).
int64_t max_target_length(const std::vector<TrainingExample>& examples);

}  // namespace stepwise::training
