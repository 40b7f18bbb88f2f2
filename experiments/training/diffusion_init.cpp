// AR -> diffusion conversion: new config, copied weights.
#include "experiments/training/diffusion_init.h"

#include <torch/torch.h>

#include <map>

#include "core/error.h"
#include "models/checkpoint.h"
#include "models/transformer.h"

namespace stepwise::training {

TransformerConfig diffusion_config(TransformerConfig config, const DiffusionConversion& conversion) {
  check(conversion.mask_token_id >= 0 && conversion.mask_token_id < config.vocab_size, "mask token id ",
        conversion.mask_token_id, " is outside the vocabulary of ", config.vocab_size);
  if (conversion.shift_logits) {
    config.model_type = "Dream";
    config.architecture = "DreamModel";
  } else if (config.model_type == "Dream" || config.model_type == "dream") {
    config.model_type = "qwen2";  // the Dream layout without Dream's shift
    config.architecture = "Qwen2ForCausalLM";
  }
  config.bidirectional = true;
  config.shift_logits = conversion.shift_logits;
  config.mask_token_id = conversion.mask_token_id;
  config.block_size = conversion.block_size;
  config.validate("diffusion config");
  return config;
}

std::shared_ptr<Transformer> diffusion_model_from(const Transformer& model, const DiffusionConversion& conversion) {
  const TransformerConfig config = diffusion_config(model.config(), conversion);
  LoadOptions options{model.dtype(), model.device()};
  std::shared_ptr<Transformer> converted = random_transformer(config, /*seed=*/0, options);
  std::map<std::string, torch::Tensor> source;
  for (const auto& [name, tensor] : model.named_parameters()) source.emplace(name, tensor);
  torch::NoGradGuard no_grad;
  for (auto& [name, tensor] : converted->named_parameters()) {
    auto it = source.find(name);
    TORCH_INTERNAL_ASSERT(it != source.end(), "diffusion conversion lost tensor ", name);
    tensor.copy_(it->second);
  }
  return converted;
}

}  // namespace stepwise::training
