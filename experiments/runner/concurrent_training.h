// Training several models of an experiment at once (the spec's `train_jobs`): every model with a
// `train:` block that is not in the cache yet, does not start from another untrained model and trains
// in one process (world_size 1) is trained by a process of its own (`run_experiment SPEC
// --train-model NAME`), up to `train_jobs` at a time, each with the runner's threads divided among
// them. Each process trains exactly as the runner would alone with that thread count (same cache
// directory, same lock), so the runs that follow load the cached models. Small models train faster
// this way than with more threads in one process (docs/performance.md, "Training steps").
#pragma once

#include <set>
#include <string>

#include "experiments/runner/experiment_spec.h"
#include "experiments/runner/model_provider.h"

namespace stepwise::runner {

// Trains the eligible models among `needed` concurrently when the spec asks for it (train_jobs > 1) and
// at least two are eligible; returns without doing anything otherwise. Throws stepwise::Error naming a model whose
// training process failed or was stopped (its saved state resumes on the next run).
void train_models_concurrently(const ExperimentSpec& spec, const ModelProvider& provider, int threads,
                               const std::set<std::string>& needed);

// The body of `--train-model NAME`: trains (or reuses) that model into the cache and returns.
void train_one_model(const ExperimentSpec& spec, ModelProvider& provider, const std::string& name);

}  // namespace stepwise::runner
