// Decoder construction from specs.
#include "experiments/runner/decoder_factory.h"

#include "core/error.h"
#include "decoders/ar_decoder.h"
#include "decoders/diffusion/block_diffusion_decoder.h"
#include "decoders/diffusion/diffusion_decoder.h"
#include "decoders/diffusion/remasking_decoder.h"
#include "decoders/speculative_decoder.h"

namespace stepwise::runner {
namespace {

std::shared_ptr<const Transformer> model_named(const ModelTable& models, const std::string& name) {
  auto it = models.find(name);
  check(it != models.end(), "no loaded model named '", name, "'");
  return it->second;
}

// Pins the template overload set of std::visit to one lambda per alternative.
template <typename... Handlers>
struct Overloaded : Handlers... {
  using Handlers::operator()...;
};
template <typename... Handlers>
Overloaded(Handlers...) -> Overloaded<Handlers...>;

}  // namespace

bool uses_prefix_reuse(const DecoderSpec& spec) {
  return std::visit(
      Overloaded{
          [](const ArConfig& config) { return config.use_cache; },
          [](const SpeculativeSettings&) { return true; },  // the target's prefill
          [](const DiffusionConfig& config) { return config.cache != CacheMode::kNone && !config.cfg_scale; },
          [](const RemaskingConfig&) { return false; },
          [](const BlockDiffusionConfig&) { return false; },
      },
      spec.settings);
}

bool decodes_one_sequence_at_a_time(const DecoderSpec& spec) {
  return std::visit(Overloaded{
                        [](const ArConfig&) { return false; },
                        [](const SpeculativeSettings&) { return true; },
                        [](const DiffusionConfig&) { return false; },
                        [](const RemaskingConfig&) { return false; },
                        [](const BlockDiffusionConfig&) { return false; },
                    },
                    spec.settings);
}

std::unique_ptr<Decoder> make_decoder(const DecoderSpec& spec, const ModelTable& models,
                                      std::shared_ptr<PrefixReuse> reuse) {
  auto model = model_named(models, spec.model);
  if (!uses_prefix_reuse(spec)) reuse = nullptr;
  return std::visit(
      Overloaded{
          [&](const ArConfig& config) -> std::unique_ptr<Decoder> {
            return std::make_unique<ArDecoder>(model, config, reuse);
          },
          [&](const SpeculativeSettings& settings) -> std::unique_ptr<Decoder> {
            DraftSpec draft = settings.draft_model
                                  ? DraftSpec{DraftModel{model_named(models, *settings.draft_model), settings.draft_steps}}
                                  : DraftSpec{*settings.prompt_lookup};
            return std::make_unique<SpeculativeDecoder>(model, std::move(draft), settings.config, reuse);
          },
          [&](const DiffusionConfig& config) -> std::unique_ptr<Decoder> {
            return std::make_unique<DiffusionDecoder>(model, config, reuse);
          },
          [&](const RemaskingConfig& config) -> std::unique_ptr<Decoder> {
            return std::make_unique<RemaskingDecoder>(model, config);
          },
          [&](const BlockDiffusionConfig& config) -> std::unique_ptr<Decoder> {
            return std::make_unique<BlockDiffusionDecoder>(model, config);
          },
      },
      spec.settings);
}

std::unique_ptr<Decoder> make_decoder(const DecoderSpec& spec, std::shared_ptr<const Transformer> model) {
  return make_decoder(spec, ModelTable{{spec.model, std::move(model)}});
}

}  // namespace stepwise::runner
