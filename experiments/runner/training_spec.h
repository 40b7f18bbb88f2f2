// Reading a model's `train:` block of an experiment file into the task-training spec
// (experiments/training/task_training_spec.h): unknown keys, wrong types and out-of-range values are
// errors naming the key and its line.
#pragma once

#include "experiments/runner/yaml_reader.h"
#include "experiments/training/task_training_spec.h"

namespace stepwise::runner {

task_training::TaskTrainingSpec parse_training_spec(const YamlReader& block);

}  // namespace stepwise::runner
