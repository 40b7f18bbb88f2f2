// The re-predict / re-mask loop of the "Beyond Autoregression" decoder.
#include "decoders/diffusion/remasking_decoder.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <vector>

#include "core/error.h"
#include "core/tensor/sampling.h"
#include "core/timing.h"
#include "decoders/commit_reporter.h"
#include "decoders/diffusion/canvas.h"
#include "decoders/diffusion/canvas_forward.h"
#include "decoders/diffusion/denoiser.h"
#include "decoders/diffusion/step_trace.h"

namespace stepwise {
namespace {

// Share of the generation re-masked after the forward with index t = T-1 .. 1 counting down.
double remask_rate(RemaskSchedule schedule, int64_t t, int64_t total) {
  const double T = static_cast<double>(total);
  if (schedule == RemaskSchedule::kLinear) return static_cast<double>(t) / T;
  return std::cos((T - static_cast<double>(t)) / T * M_PI * 0.5);
}

// Positions (n,) of the `count` lowest scores (B = one row, N,) among `maskable` ones.
torch::Tensor lowest_scores(torch::Tensor scores, const torch::Tensor& maskable, int64_t count,
                            std::optional<double> noise, double rate, at::Generator& generator) {
  if (noise) {
    // diffusion-vs-ar topk_masking: scores + temp * Gumbel, temp = noise_scale * rate.
    torch::Tensor uniform = at::rand(scores.sizes(), generator, torch::TensorOptions().dtype(torch::kFloat32));
    torch::Tensor gumbel = -torch::log(-torch::log(uniform + 1e-8) + 1e-8);
    scores = scores + (*noise * rate) * gumbel.to(scores.device());
  }
  scores = scores.masked_fill(maskable.logical_not(), std::numeric_limits<float>::infinity());
  return std::get<1>(scores.topk(count, -1, /*largest=*/false));
}

}  // namespace

RemaskingDecoder::RemaskingDecoder(std::shared_ptr<const Transformer> model, RemaskingConfig config)
    : RemaskingDecoder(std::make_shared<TransformerDenoiser>(std::move(model)), std::move(config)) {}

RemaskingDecoder::RemaskingDecoder(std::shared_ptr<const Denoiser> model, RemaskingConfig config)
    : model_(std::move(model)), config_(std::move(config)) {
  check(model_ != nullptr, "remasking decoder: no model given");
  validate(config_);
}

DecodeResult RemaskingDecoder::decode(const DecodeRequest& request) {
  torch::NoGradGuard no_grad;
  Stopwatch clock;
  const int64_t gen_len = request.max_new_tokens;
  Canvas canvas = make_canvas(request.prompts, gen_len, model_->config(), config_.fixed, model_->device());
  const int64_t rows = canvas.rows(), total = config_.steps;
  torch::Tensor generation = canvas.tokens.narrow(1, canvas.gen_start, gen_len);  // (B, N) view into the canvas
  const torch::Tensor maskable = generation == canvas.mask_id;                    // (B, N): not fixed
  const torch::Tensor maskable_count = maskable.sum(1).to(torch::kCPU);           // (B,)
  std::vector<at::Generator> generators;
  for (int64_t r = 0; r < rows; ++r) generators.push_back(make_generator(request.seed_of(static_cast<size_t>(r))));
  CanvasForward forward(*model_, canvas, CacheMode::kNone, std::nullopt);
  const torch::Tensor columns =  // (B, N): every generation column
      torch::arange(canvas.gen_start, canvas.gen_start + gen_len, torch::kInt64).expand({rows, gen_len});
  StepTrace trace(rows, gen_len, request.record_trace);

  // Without the shift the output at a column that holds a token was never trained (the loss covers
  // masked columns only), so such columns keep their token and the score they were committed with.
  const bool repredict_all = model_->config().shift_logits;
  torch::Tensor held_scores = torch::full({rows, gen_len}, -std::numeric_limits<float>::infinity(),
                                          torch::TensorOptions().dtype(torch::kFloat32).device(model_->device()));
  for (int64_t k = 0; k < total; ++k) {
    torch::Tensor before = generation.clone();  // (B, N)
    torch::Tensor logits =
        forward.logits(canvas, columns, canvas.gen_start, canvas.gen_start + gen_len, true);  // (B, N, V)
    auto [scores, predicted] = torch::log_softmax(logits, -1).max(-1);                        // (B, N) each
    const torch::Tensor repredicted = repredict_all ? maskable : (generation == canvas.mask_id);  // (B, N)
    generation.copy_(torch::where(repredicted, predicted, generation));
    held_scores = torch::where(repredicted, scores.to(torch::kFloat32), held_scores);
    scores = held_scores;
    if (k + 1 < total) {
      const int64_t t = total - 1 - k;
      const double rate = remask_rate(config_.schedule, t, total);
      for (int64_t r = 0; r < rows; ++r) {
        // int((float) N * rate) as upstream computes it in the scores' float32.
        const auto count =
            static_cast<int64_t>(static_cast<float>(maskable_count[r].item<int64_t>()) * static_cast<float>(rate));
        if (count == 0) continue;
        torch::Tensor chosen =
            lowest_scores(scores[r], maskable[r], count, config_.noise_scale, rate, generators[static_cast<size_t>(r)]);
        generation[r].index_fill_(0, chosen, canvas.mask_id);
      }
    }
    // A position is (re)committed at k when it now holds a token it did not hold unmasked before.
    torch::Tensor committed =
        maskable & (generation != canvas.mask_id) & ((before == canvas.mask_id) | (generation != before));
    torch::Tensor where = committed.nonzero().to(torch::kCPU);  // (n, 2)
    for (int64_t i = 0; i < where.size(0); ++i)
      trace.set_commit(where[i][0].item<int64_t>(), where[i][1].item<int64_t>(), k);
    trace.end_step(trace.keeps_history() ? generated_tokens(canvas) : std::vector<std::vector<int64_t>>{},
                   forward.last_tokens_fed());
  }

  DecodeResult result;
  result.tokens = generated_tokens(canvas);
  // Any position may be re-masked until the last pass, so the observer sees the whole generation then.
  CommitReporter(request, static_cast<size_t>(rows)).report_canvas(result.tokens, canvas.mask_id, total - 1);
  trace.fill(result);
  result.stats.forward_calls = forward.forward_calls();
  result.stats.wall_s = clock.seconds();
  result.stats.first_token_s = result.stats.wall_s;  // no token is final before the last pass
  result.stats.generated_tokens = rows * gen_len;
  auto& details = result.stats.details;
  details["decoder"] = "remasking";
  details["schedule"] = to_string(config_.schedule);
  if (config_.noise_scale) details["noise_scale"] = *config_.noise_scale;
  return result;
}

std::string RemaskingDecoder::describe() const {
  std::ostringstream out;
  out << "remasking " << to_string(config_.schedule) << " steps=" << config_.steps;
  if (config_.noise_scale) out << " noise=" << *config_.noise_scale;
  if (!config_.fixed.empty()) out << " fixed=" << config_.fixed.size();
  return out.str();
}

}  // namespace stepwise
