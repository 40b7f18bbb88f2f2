// The training loop: seeded batches, the objective's loss, AdamW with a warm-up + cosine schedule and
// gradient clipping, validation through an injectable hook, a progress bar with loss and ETA, and
// resumable state. With an out_dir it resumes from out_dir/training_state.safetensors when present,
// saves state and checkpoint every save_every steps, at the end, and when SIGINT/SIGTERM arrives
// (the loop finishes the current step, saves and returns). A stopped and resumed run ends with the
// same weights as an uninterrupted one: batches and noise depend only on (seed, step).
#pragma once

#include <string>
#include <vector>

#include "experiments/training/trainer_options.h"
#include "experiments/training/training_batch.h"

namespace stepwise {
class Transformer;
}

namespace stepwise::training {

// File name of the training state inside out_dir.
inline constexpr char kTrainingStateFile[] = "training_state.safetensors";

// Trains `model` in place on `train_set`. The model's dtype must be float32 (kFloat32, kMixedBFloat16)
// or bfloat16 (kBFloat16). Throws stepwise::Error for bad settings or a mismatched training state.
TrainingOutcome train_model(Transformer& model, const std::vector<TrainingExample>& train_set,
                            const TrainerOptions& options);

// The JSON fingerprint of a run (settings that shape the weights).
std::string training_fingerprint(const Transformer& model, const std::vector<TrainingExample>& train_set,
                                 const TrainerOptions& options);

}  // namespace stepwise::training
