// Autoregressive decoder: prefill, then decode_one_token until every row stops or the budget is spent.
#include "decoders/ar_decoder.h"

#include <torch/torch.h>

#include <utility>

#include "core/error.h"
#include "core/tensor/sampling.h"
#include "core/timing.h"
#include "decoders/ar_run.h"
#include "decoders/batch.h"
#include "decoders/commit_reporter.h"
#include "decoders/prefix_reuse.h"
#include "decoders/stop_tokens.h"
#include "models/transformer.h"

namespace stepwise {

ArDecoder::ArDecoder(std::shared_ptr<const Transformer> model, ArConfig config, std::shared_ptr<PrefixReuse> reuse)
    : model_(std::move(model)), config_(std::move(config)), reuse_(std::move(reuse)) {
  TORCH_INTERNAL_ASSERT(model_ != nullptr);
  check(reuse_ == nullptr || config_.use_cache, "prefix reuse needs the KV cache (use_cache: true)");
}

int64_t ArDecoder::prefill_tokens(const std::vector<int64_t>& prompt) const {
  const int64_t length = static_cast<int64_t>(prompt.size());
  return reuse_ ? length - reuse_->cached_prefix_tokens(prompt) : length;
}

std::string ArDecoder::describe() const {
  std::string text =
      config_.sampling.greedy() ? "ar greedy" : "ar sampled T=" + std::to_string(config_.sampling.temperature);
  if (!config_.use_cache) text += " no-cache";
  return text;
}

DecodeResult ArDecoder::decode(const DecodeRequest& request) {
  Stopwatch wall;
  torch::NoGradGuard no_grad;
  const TransformerConfig& model_config = model_->config();
  check_ar_request(model_config, request);
  const StopTokens stop(config_.stop_ids, config_.stop_on_eos, model_config.eos_token_ids);
  const int64_t pad_id = pad_id_of(model_config);
  const PaddedBatch batch = left_pad(request.prompts, pad_id, 0, 0, model_->device());
  const size_t rows = request.prompts.size();

  std::vector<at::Generator> generators;
  if (!config_.sampling.greedy())
    for (size_t r = 0; r < rows; ++r) generators.push_back(make_generator(request.seed_of(r)));

  DecodeResult result;
  result.tokens.assign(rows, {});
  result.commit_step.assign(rows, {});
  std::vector<bool> active(rows, true);  // false once the row stopped
  size_t finished = 0;
  CommitReporter reporter(request, rows);
  double prefill_s = 0.0;
  int64_t reused_tokens = 0;

  if (request.max_new_tokens > 0) {
    ArRun run(*model_, batch, request.max_new_tokens, config_.use_cache);
    torch::Tensor logits = reuse_ ? run.prefill_reusing(*reuse_, request.prompts) : run.prefill();  // (B, V)
    reused_tokens = run.reused_tokens();
    for (int64_t step = 0;; ++step) {
      ++result.stats.forward_calls;
      // Rows that already stopped get a pad and are never sampled again.
      const std::vector<int64_t> chosen = choose_next_tokens(logits, config_.sampling, generators, active, pad_id);
      for (size_t r = 0; r < rows; ++r) {
        if (!active[r]) continue;
        result.tokens[r].push_back(chosen[r]);
        result.commit_step[r].push_back(step);
        reporter.report_appended(r, step, static_cast<int64_t>(result.tokens[r].size()) - 1, {chosen[r]});
        if (stop.contains(chosen[r]) || reporter.cancelled(r)) {
          active[r] = false;
          ++finished;
        }
      }
      if (step == 0) {
        result.stats.first_token_s = wall.seconds();
        prefill_s = result.stats.first_token_s;
      }
      if (finished == rows || step + 1 == request.max_new_tokens) break;
      logits = run.decode_one_token(torch::tensor(chosen, torch::kInt64));
    }
  }

  for (const auto& row : result.tokens) result.stats.generated_tokens += static_cast<int64_t>(row.size());
  result.stats.wall_s = wall.seconds();
  result.stats.details = {{"use_cache", config_.use_cache},
                          {"prefill_s", prefill_s},
                          {"decode_s", result.stats.wall_s - prefill_s},
                          {"prompt_width", batch.width}};
  if (reuse_) result.stats.details["reused_prompt_tokens"] = reused_tokens;
  return result;
}

}  // namespace stepwise
