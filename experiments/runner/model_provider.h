// Gets every model an experiment names: loads checkpoints given by path, and trains models given by
// a `train:` block into the cache directory (keyed by a hash of the block and the task), reusing a
// finished one and resuming an interrupted one. Training takes a lock in the model's cache directory,
// so experiments sharing a cache_dir train each model once. Also the tokenizer that goes with each model.
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
  // Where a trained model is cached.
  std::string cache_directory(const std::string& name) const;
  // One line for --dry-run: what would happen for `name`.
  std::string plan(const std::string& name) const;
  // True when a `train:` model's cache holds a finished training.
  bool is_trained(const std::string& name) const;
  const ModelTable& loaded() const { return loaded_; }

 private:
  const ExperimentSpec& spec_;
  const TaskData& data_;
  ModelTable loaded_;
};

}  // namespace stepwise::runner
