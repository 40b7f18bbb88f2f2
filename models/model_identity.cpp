// Content hash of a loaded transformer.
#include "models/model_identity.h"

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "core/content_hash.h"
#include "models/transformer.h"

namespace stepwise {

std::string model_identity(const Transformer& model) {
  torch::NoGradGuard no_grad;
  StreamingHash hash;
  hash.update(std::string_view("stepwise-model/1"));
  hash.update(transformer_config_to_json(model.config()).dump());
  hash.update(std::string_view(c10::toString(model.dtype())));
  for (const auto& [name, tensor] : model.named_parameters()) {
    hash.update(name);
    for (int64_t size : tensor.sizes()) hash.update(size);
    torch::Tensor bytes = tensor.detach().to(torch::kCPU).contiguous();
    hash.update(bytes.data_ptr(), bytes.nbytes());
  }
  return hash.digest().hex();
}

}  // namespace stepwise
