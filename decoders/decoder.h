// The one interface every decoding strategy implements, and the request / result types they share.
// Requests carry prompts as plain token lists (decoders left-pad them into a batch) and one seed per
// example, so sampled output never depends on batch composition. Every result reports forward
// evaluations (NFE) and wall time, the shared cost axis of AR, speculative and diffusion decoding.
// Torch-free on purpose: the experiment runner includes this without LibTorch.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace stepwise {

// What one step of a decode committed for one row: generated positions (0-based from the first generated
// token) and their tokens, in position order. AR: one token per step; speculative: the tokens a verify
// round accepts plus its recovered or bonus token; diffusion: the canvas positions the step unmasked.
struct StepCommit {
  size_t row = 0;
  int64_t step = 0;  // the decoder's 0-based step (forward call of the decoding loop)
  std::vector<int64_t> positions;
  std::vector<int64_t> tokens;
};

// kCancelRow: the row's client is gone; the decoder stops generating for it (its result row then ends
// where it stopped) and the decode returns as soon as every row is cancelled or finished.
enum class StepVerdict { kContinue, kCancelRow };

// Called on the decoding thread after every step that committed something for a row; never changes what
// is decoded (the committed pieces of a row, placed at their positions, are its final tokens).
using StepObserver = std::function<StepVerdict(const StepCommit&)>;

struct DecodeRequest {
  std::vector<std::vector<int64_t>> prompts;  // B prompts, any lengths
  int64_t max_new_tokens = 0;                 // generation length (diffusion: canvas length)
  std::vector<uint64_t> seeds;                // one per prompt; empty = seed 0 for every row
  bool record_trace = false;                  // ask for per-step detail (diffusion history etc.)
  StepObserver observer;                      // optional: sees each row's commits as they happen

  uint64_t seed_of(size_t row) const { return seeds.empty() ? 0 : seeds.at(row); }
};

struct DecodeStats {
  int64_t forward_calls = 0;      // NFE: full forward evaluations of the (target) model
  double wall_s = 0.0;            // whole decode call
  double first_token_s = 0.0;     // until the first generated token is known (AR: after prefill)
  int64_t generated_tokens = 0;   // summed over rows
  nlohmann::json details = nlohmann::json::object();  // strategy-specific counters (acceptance, ...)
};

struct DecodeResult {
  // Per row: the generated tokens only (no prompt, no padding; AR stops before the stop token is
  // dropped: the stop token is included when it was produced).
  std::vector<std::vector<int64_t>> tokens;
  // Per row and generated position: the step (0-based forward call of the decoding loop) at which the
  // token was committed. AR: its index. Empty when the strategy does not track it.
  std::vector<std::vector<int64_t>> commit_step;
  // With record_trace: per step, per row, the generated part of the canvas (mask id where undecided).
  std::vector<std::vector<std::vector<int64_t>>> history;
  DecodeStats stats;
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual DecodeResult decode(const DecodeRequest& request) = 0;
  // Short description for logs and results, e.g. "ar greedy" or "diffusion entropy steps=16".
  virtual std::string describe() const = 0;
  // Prompt tokens a decode of `prompt` would run through the model before its first token, given
  // what the decoder can reuse right now (prefix_reuse.h); schedulers order requests by it.
  virtual int64_t prefill_tokens(const std::vector<int64_t>& prompt) const {
    return static_cast<int64_t>(prompt.size());
  }
};

}  // namespace stepwise
