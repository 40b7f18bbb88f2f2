// The strict half of checkpoint loading, shared by the Hugging Face and GGUF layouts: a TensorSource
// presents a checkpoint's tensors under their Hugging Face names and torch-order shapes, and
// build_transformer turns one into a model, checking every tensor against the config.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/checkpoint.h"

namespace stepwise {

class TensorSource {
 public:
  virtual ~TensorSource() = default;
  virtual std::vector<std::string> names() const = 0;
  virtual bool contains(const std::string& name) const = 0;
  virtual std::vector<int64_t> shape(const std::string& name) const = 0;
  // The file holding `name` (for error messages).
  virtual std::string file_of(const std::string& name) const = 0;
  // A fresh CPU tensor holding `name` converted to `dtype`.
  virtual torch::Tensor load(const std::string& name, torch::ScalarType dtype) const = 0;
};

// Every tensor of the model `config` describes (biases and q/k norms as its flags say), under its
// Hugging Face name, with its torch-order shape, in build_transformer's order.
std::vector<std::pair<std::string, std::vector<int64_t>>> expected_tensor_shapes(const TransformerConfig& config);

// The model `config` describes with its weights from `source`: every tensor present and shaped as the
// config says, no unexpected tensor, no NaN or Inf. Biases and q/k norms are decided by the tensors
// present. `where` names the checkpoint in errors.
std::shared_ptr<Transformer> build_transformer(TransformerConfig config, const TensorSource& source,
                                               const std::string& where, const LoadOptions& options);

}  // namespace stepwise
