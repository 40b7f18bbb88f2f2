// The block / step loop of the masked-diffusion decoder and each row's commits.
#include "decoders/diffusion/diffusion_decoder.h"

#include <torch/torch.h>

#include <sstream>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/tensor/sampling.h"
#include "core/timing.h"
#include "decoders/commit_reporter.h"
#include "decoders/diffusion/canvas.h"
#include "decoders/diffusion/canvas_forward.h"
#include "decoders/diffusion/denoiser.h"
#include "decoders/diffusion/row_commit.h"
#include "decoders/diffusion/schedule.h"
#include "decoders/diffusion/step_trace.h"

namespace stepwise {
namespace {

struct BlockPlan {
  int64_t block_length = 0;
  int64_t blocks = 0;
  int64_t steps_per_block = 0;
};

BlockPlan plan_blocks(const DiffusionConfig& config, int64_t gen_len) {
  BlockPlan plan;
  plan.block_length = config.block_length.value_or(gen_len);
  check(gen_len % plan.block_length == 0, "diffusion: the generation length ", gen_len,
        " is not a multiple of block_length ", plan.block_length);
  plan.blocks = gen_len / plan.block_length;
  if (config.threshold) {
    plan.steps_per_block = plan.block_length;  // an upper bound: each step commits at least one token per row
  } else {
    check(config.steps % plan.blocks == 0, "diffusion: steps ", config.steps, " cannot be split evenly over ",
          plan.blocks, " blocks (generation ", gen_len, " / block_length ", plan.block_length, ")");
    plan.steps_per_block = config.steps / plan.blocks;
  }
  return plan;
}

}  // namespace

DiffusionDecoder::DiffusionDecoder(std::shared_ptr<const Transformer> model, DiffusionConfig config,
                                   std::shared_ptr<PrefixReuse> reuse)
    : DiffusionDecoder(std::make_shared<TransformerDenoiser>(std::move(model)), std::move(config), std::move(reuse)) {}

DiffusionDecoder::DiffusionDecoder(std::shared_ptr<const Denoiser> model, DiffusionConfig config,
                                   std::shared_ptr<PrefixReuse> reuse)
    : model_(std::move(model)), config_(std::move(config)), reuse_(std::move(reuse)) {
  check(model_ != nullptr, "diffusion decoder: no model given");
  validate(config_);
  check(model_->config().mask_token_id.has_value(),
        "diffusion decoding needs a mask token, but the model (model_type '", model_->config().model_type,
        "') has no mask_token_id in its config.json");
}

DecodeResult DiffusionDecoder::decode(const DecodeRequest& request) {
  torch::NoGradGuard no_grad;
  Stopwatch clock;
  const int64_t gen_len = request.max_new_tokens;
  check(gen_len >= 1, "diffusion: max_new_tokens (the generation length) must be >= 1, got ", gen_len);
  const BlockPlan plan = plan_blocks(config_, gen_len);
  Canvas canvas = make_canvas(request.prompts, gen_len, model_->config(), config_.fixed, model_->device());
  const int64_t rows = canvas.rows();
  std::vector<at::Generator> generators;
  for (int64_t r = 0; r < rows; ++r) generators.push_back(make_generator(request.seed_of(static_cast<size_t>(r))));
  CanvasForward forward(*model_, canvas, config_.cache, config_.cfg_scale, reuse_.get());
  const RevealSchedule schedule(config_.schedule, plan.steps_per_block, config_.eps);
  StepTrace trace(rows, gen_len, request.record_trace);
  CommitReporter reporter(request, static_cast<size_t>(rows));

  double first_token_s = 0.0;
  bool any_committed = false;
  int64_t step = 0;
  for (int64_t block = 0; block < plan.blocks && !reporter.all_cancelled(); ++block) {
    const int64_t begin = canvas.gen_start + block * plan.block_length;
    const int64_t end = begin + plan.block_length;
    std::vector<int64_t> masked_at_start;
    for (int64_t k = 0; k < plan.steps_per_block; ++k) {
      const MaskedColumns masked = masked_columns(canvas, begin, end);
      if (k == 0) masked_at_start = masked.counts;
      if (config_.threshold && masked.none()) break;
      torch::Tensor logits = forward.logits(canvas, masked.columns, begin, end, /*refresh=*/k == 0);  // (B, K, V)
      int64_t committed = 0;
      for (int64_t r = 0; r < rows; ++r) {
        const auto row = static_cast<size_t>(r);
        const RowStep at{r, k, masked_at_start[row], step};
        committed += commit_row(config_, schedule, at, masked.columns[r].narrow(0, 0, masked.counts[row]),
                                logits[r].narrow(0, 0, masked.counts[row]), generators[row], canvas.tokens[r],
                                canvas.gen_start, trace);
      }
      if (committed > 0 && !any_committed) {
        any_committed = true;
        first_token_s = clock.seconds();
      }
      trace.end_step(trace.keeps_history() ? generated_tokens(canvas) : std::vector<std::vector<int64_t>>{},
                     forward.last_tokens_fed());
      ++step;
      if (reporter.active()) reporter.report_canvas(generated_tokens(canvas), canvas.mask_id, step - 1);
      if (reporter.all_cancelled()) break;
    }
  }

  DecodeResult result = trace.result(
      make_outcome("diffusion", generated_tokens(canvas), forward, config_, clock.seconds(), first_token_s));
  auto& details = result.stats.details;
  details["blocks"] = plan.blocks;
  details["block_length"] = plan.block_length;
  details["forwards_per_step"] = config_.cfg_scale ? 2 : 1;
  if (reuse_) details["reused_prompt_tokens"] = forward.reused_prompt_tokens();
  return result;
}

std::string DiffusionDecoder::describe() const {
  std::ostringstream out;
  out << "diffusion " << to_string(config_.selection);
  if (config_.threshold)
    out << " threshold=" << *config_.threshold;
  else
    out << " steps=" << config_.steps << " schedule=" << to_string(config_.schedule);
  if (config_.block_length) out << " block=" << *config_.block_length;
  if (config_.cache != CacheMode::kNone) out << " cache=" << to_string(config_.cache);
  if (config_.cfg_scale) out << " cfg=" << *config_.cfg_scale;
  if (config_.alg_temp) out << " alg_temp=" << *config_.alg_temp;
  if (!config_.sampling.greedy()) out << " temperature=" << config_.sampling.temperature;
  if (!config_.fixed.empty()) out << " fixed=" << config_.fixed.size();
  return out.str();
}

}  // namespace stepwise
