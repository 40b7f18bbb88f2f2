// The decoder key table.
#include "experiments/runner/decoder_keys.h"

#include <algorithm>

namespace stepwise::runner {
namespace {

const std::vector<std::string> kAll{"ar", "speculative", "diffusion", "remasking", "block_diffusion"};
const std::vector<std::string> kAutoregressive{"ar", "speculative"};
const std::vector<std::string> kSampled{"ar", "speculative", "diffusion", "block_diffusion"};
const std::vector<std::string> kConfidence{"diffusion", "block_diffusion"};
const std::vector<std::string> kMasked{"diffusion", "remasking"};

}  // namespace

const std::vector<DecoderKey>& decoder_keys() {
  // One key per entry (clang-format would put each field of the braced entries on its own line).
  // clang-format off
  static const std::vector<DecoderKey> keys{
      {"gen_length", kAll, FlagForm::kValue, "N",
       "generated tokens (diffusion: canvas length); replaces the task's length, or --max-new-tokens"},
      {"request_order", kAll, FlagForm::kNone, "ORDER", "fifo | shortest_prefill_first: order of a run's examples"},
      {"temperature", kSampled, FlagForm::kValue, "T", "token sampling temperature, 0 = greedy (default 0)"},
      {"top_k", kSampled, FlagForm::kValue, "K", "token sampling: keep the K most likely tokens (not LLaDA rules)"},
      {"top_p", kSampled, FlagForm::kValue, "P",
       "token sampling: keep the smallest set reaching probability P, in (0, 1] (not LLaDA rules)"},
      {"use_cache", {"ar"}, FlagForm::kSwitchOff, "",
       "recompute the whole prefix at every step instead of using a KV cache"},
      {"stop_ids", kAutoregressive, FlagForm::kIntegerList, "ID,...",
       "stop at these token ids instead of the model's EOS ids"},
      {"stop_on_eos", kAutoregressive, FlagForm::kSwitchOff, "", "do not stop at the model's EOS tokens"},
      {"draft_model", {"speculative"}, FlagForm::kValue, "DIR",
       "draft model (YAML: a name in models:, CLI: a checkpoint directory)"},
      {"draft_ngram", {"speculative"}, FlagForm::kValue, "N",
       "prompt-lookup drafts matching the last 1..N tokens (1-16), instead of a draft model"},
      {"draft_ngram_min", {"speculative"}, FlagForm::kValue, "N",
       "shortest n-gram prompt lookup matches (default 1)"},
      {"draft_length", {"speculative"}, FlagForm::kValue, "K",
       "tokens drafted per round, 1-64 (start value when adaptive; default 4)"},
      {"draft_steps", {"speculative"}, FlagForm::kValue, "N",
       "forwards per proposal of a masked-diffusion draft model, 1-64 (default 1: all drafts in one forward)"},
      {"adaptive", {"speculative"}, FlagForm::kSwitchOn, "",
       "draft length +2 after a fully accepted round, else -1 (min 1)"},
      {"steps", kMasked, FlagForm::kValue, "N",
       "forward passes of the schedule (diffusion: required unless threshold; remasking: default 20)"},
      {"alg", kConfidence, FlagForm::kValue, "ALG",
       "origin | maskgit_plus | topk_margin | entropy (Dream) | low_confidence | random (LLaDA); default entropy"},
      {"schedule", {"diffusion", "remasking", "block_diffusion"}, FlagForm::kValue, "NAME",
       "diffusion: dream_time_grid | llada_even_split | cosine (default: llada_even_split for LLaDA rules, "
       "else dream_time_grid; block_diffusion: per sub-block); remasking: linear | cosine (default linear)"},
      {"eps", kConfidence, FlagForm::kValue, "E", "end of Dream's time grid linspace(1, eps, steps + 1) (default 0.001)"},
      {"block_length", kConfidence, FlagForm::kValue, "N",
       "diffusion: semi-autoregressive block length (divides the length); block_diffusion: block size (required)"},
      {"sub_block_length", {"block_diffusion"}, FlagForm::kValue, "N",
       "sub-blocks decoded left to right inside a block (divides block_length; default the block)"},
      {"steps_per_block", {"block_diffusion"}, FlagForm::kValue, "N",
       "fixed-count commitment: forwards per block, split evenly over its sub-blocks (or give threshold)"},
      {"threshold", kConfidence, FlagForm::kValue, "TAU",
       "Fast-dLLM parallel decoding: commit every block position with confidence >= TAU"},
      {"alg_temp", kConfidence, FlagForm::kValue, "T",
       "sample positions from softmax(confidence / T) instead of top-k"},
      {"cfg_scale", {"diffusion"}, FlagForm::kValue, "S",
       "classifier-free guidance un + (S + 1)(cond - un); 2 forwards per step"},
      {"cache", kConfidence, FlagForm::kValue, "MODE",
       "diffusion: Fast-dLLM KV cache none | prefix | dual (default none); block_diffusion: none | block | dual "
       "(default block)"},
      {"noise_scale", {"remasking"}, FlagForm::kValue, "F",
       "Gumbel noise on the scores scaled by F * rate (stochastic; default none)"},
      {"fixed", kMasked, FlagForm::kFixedList, "POS:ID,...",
       "pre-filled generation positions (infilling), never changed"},
  };
  // clang-format on
  return keys;
}

const DecoderKey* find_decoder_key(const std::string& name) {
  for (const DecoderKey& key : decoder_keys())
    if (key.name == name) return &key;
  return nullptr;
}

bool key_applies_to(const DecoderKey& key, const std::string& type) {
  return std::find(key.types.begin(), key.types.end(), type) != key.types.end();
}

std::string flag_name(const DecoderKey& key) {
  if (key.form == FlagForm::kNone) return "";
  std::string name = key.name;
  std::replace(name.begin(), name.end(), '_', '-');
  return key.form == FlagForm::kSwitchOff ? "no-" + name : name;
}

}  // namespace stepwise::runner
