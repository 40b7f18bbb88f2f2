// Names of the training precisions.
#include "experiments/training/trainer_options.h"

#include "core/error.h"

namespace stepwise::training {

std::string training_precision_name(TrainingPrecision precision) {
  switch (precision) {
    case TrainingPrecision::kFloat32: return "float32";
    case TrainingPrecision::kBFloat16: return "bfloat16";
    case TrainingPrecision::kMixedBFloat16: return "mixed-bf16";
  }
  return "?";
}

TrainingPrecision parse_training_precision(const std::string& name) {
  if (name == "float32" || name == "fp32") return TrainingPrecision::kFloat32;
  if (name == "bfloat16" || name == "bf16") return TrainingPrecision::kBFloat16;
  if (name == "mixed-bf16") return TrainingPrecision::kMixedBFloat16;
  fail("unknown training precision '", name, "' (expected float32, bfloat16 or mixed-bf16)");
}

}  // namespace stepwise::training
