// The block / sub-block / step loop of the block-diffusion decoder.
#include "decoders/diffusion/block_diffusion_decoder.h"

#include <torch/torch.h>

#include <algorithm>
#include <sstream>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/tensor/sampling.h"
#include "core/timing.h"
#include "decoders/commit_reporter.h"
#include "decoders/diffusion/block_canvas.h"
#include "decoders/diffusion/block_forward.h"
#include "decoders/diffusion/canvas.h"
#include "decoders/diffusion/denoiser.h"
#include "decoders/diffusion/row_commit.h"
#include "decoders/diffusion/schedule.h"
#include "decoders/diffusion/step_trace.h"

namespace stepwise {

BlockDiffusionDecoder::BlockDiffusionDecoder(std::shared_ptr<const Transformer> model, BlockDiffusionConfig config)
    : BlockDiffusionDecoder(std::make_shared<TransformerDenoiser>(std::move(model)), std::move(config)) {}

BlockDiffusionDecoder::BlockDiffusionDecoder(std::shared_ptr<const Denoiser> model, BlockDiffusionConfig config)
    : model_(std::move(model)), config_(std::move(config)) {
  check(model_ != nullptr, "block diffusion decoder: no model given");
  validate(config_);
  check(model_->config().mask_token_id.has_value(),
        "block diffusion decoding needs a mask token, but the model (model_type '", model_->config().model_type,
        "') has no mask_token_id in its config.json");
}

DecodeResult BlockDiffusionDecoder::decode(const DecodeRequest& request) {
  torch::NoGradGuard no_grad;
  Stopwatch clock;
  const int64_t gen_len = request.max_new_tokens;
  check(gen_len >= 1, "block_diffusion: max_new_tokens (the generation length) must be >= 1, got ", gen_len);
  check(request.seeds.empty() || request.seeds.size() == request.prompts.size(), "block_diffusion: ",
        request.seeds.size(), " seeds for ", request.prompts.size(), " prompts");
  BlockCanvas canvas =
      make_block_canvas(request.prompts, gen_len, config_.block_length, model_->config(), model_->device());
  const int64_t rows = canvas.rows();
  std::vector<at::Generator> generators;
  for (int64_t r = 0; r < rows; ++r) generators.push_back(make_generator(request.seed_of(static_cast<size_t>(r))));
  BlockForward forward(*model_, canvas, config_.cache);
  const DiffusionConfig selection = config_.selection_config();
  const int64_t steps_per_sub_block = config_.steps_per_sub_block();
  const RevealSchedule schedule(config_.schedule, steps_per_sub_block, config_.eps);
  StepTrace trace(rows, gen_len, request.record_trace);
  CommitReporter reporter(request, static_cast<size_t>(rows));

  double first_token_s = 0.0;
  bool any_committed = false;
  int64_t step = 0;
  int64_t blocks_decoded = 0;
  for (int64_t block = canvas.first_generation_block(); block < canvas.blocks() && !reporter.all_cancelled(); ++block) {
    BlockStepSpan span;
    span.block_begin = block * config_.block_length;
    span.block_end = std::min(span.block_begin + config_.block_length, canvas.width());
    ++blocks_decoded;
    for (int64_t sub = span.block_begin; sub < span.block_end && !reporter.all_cancelled(); sub += config_.sub_block()) {
      span.sub_begin = sub;
      span.sub_end = std::min(sub + config_.sub_block(), span.block_end);
      std::vector<int64_t> masked_at_start;
      for (int64_t k = 0; k < steps_per_sub_block; ++k) {
        const MaskedColumns masked = masked_columns(canvas.tokens, canvas.mask_id, span.sub_begin, span.sub_end);
        if (k == 0) masked_at_start = masked.counts;
        if (masked.none()) break;  // nothing of any row left here (a prompt's part of a block, or filled)
        span.first_step_of_sub_block = k == 0;
        torch::Tensor logits = forward.logits(canvas, masked.columns, span);  // (B, K, V)
        int64_t committed = 0;
        for (int64_t r = 0; r < rows; ++r) {
          const auto row = static_cast<size_t>(r);
          const RowStep at{r, k, masked_at_start[row], step};
          committed += commit_row(selection, schedule, at, masked.columns[r].narrow(0, 0, masked.counts[row]),
                                  logits[r].narrow(0, 0, masked.counts[row]), generators[row], canvas.tokens[r],
                                  canvas.gen_start[row], trace);
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
  }

  DecodeResult result = trace.result(
      make_outcome("block_diffusion", generated_tokens(canvas), forward, config_, clock.seconds(), first_token_s));
  auto& details = result.stats.details;
  details["block_length"] = config_.block_length;
  details["sub_block_length"] = config_.sub_block();
  details["blocks"] = blocks_decoded;
  details["tokens_fed"] = forward.tokens_fed();
  details["tokens_per_forward"] =
      forward.forward_calls() > 0 ? static_cast<double>(gen_len) / static_cast<double>(forward.forward_calls()) : 0.0;
  return result;
}

std::string BlockDiffusionDecoder::describe() const {
  std::ostringstream out;
  out << "block_diffusion " << to_string(config_.selection) << " block=" << config_.block_length;
  if (config_.sub_block_length) out << " sub_block=" << *config_.sub_block_length;
  if (config_.threshold)
    out << " threshold=" << *config_.threshold;
  else
    out << " steps_per_block=" << *config_.steps_per_block << " schedule=" << to_string(config_.schedule);
  out << " cache=" << to_string(config_.cache);
  if (config_.alg_temp) out << " alg_temp=" << *config_.alg_temp;
  if (!config_.sampling.greedy()) out << " temperature=" << config_.sampling.temperature;
  return out.str();
}

}  // namespace stepwise
