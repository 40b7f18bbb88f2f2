// Gets every model an experiment names: loads checkpoints given by path, and trains models given by
// a `train:` block into the cache directory (keyed by a hash of the block and the task), reusing a
// finished one and resuming an interrupted one. A `quantize:` block quantizes those weights (or, with
// `from:`, another model's) into the cache directory the same way (keyed by the block and the weights).
// Training and quantizing take a lock in the model's cache directory, so experiments sharing a
// cache_dir train and quantize each model once. Also the tokenizer that goes with each model.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "core/tokenizer/tokenizer.h"
#include "experiments/runner/decoder_factory.h"
#include "experiments/runner/experiment_spec.h"
#include "experiments/runner/task_prompts.h"

namespace stepwise::runner {

class ModelProvider {
 public:
  ModelProvider(const ExperimentSpec& spec, const TaskData& data);

  // Loads or trains `name` (and what it starts from). Throws stepwise::Error when training was stopped
  // by a signal before it finished (its state is saved: run again to resume).
  std::shared_ptr<const Transformer> get(const std::string& name);
  std::unique_ptr<Tokenizer> tokenizer(const std::string& name) const;
  // Where a trained model is cached, and where a model with a quantize: block keeps its quantized weights.
  std::string cache_directory(const std::string& name) const;
  std::string quantized_directory(const std::string& name) const;
  // One line for --dry-run: what would happen for `name`.
  std::string plan(const std::string& name) const;
  // True when a `train:` model's cache holds a finished training.
  bool is_trained(const std::string& name) const;
  const ModelTable& loaded() const { return loaded_; }

 private:
  // The directory of `name`'s unquantized weights: its path, or its training cache (trained first when
  // needed), or that of the model it is quantized from.
  std::string weights_directory(const std::string& name);

  const ExperimentSpec& spec_;
  const TaskData& data_;
  ModelTable loaded_;
};

}  // namespace stepwise::runner
