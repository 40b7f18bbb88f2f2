// Independent, reproducible seeds for the random streams of a training run (model initialisation,
// batch order per epoch, diffusion noise per step), derived from the run seed with SplitMix64.
// Because every draw depends only on (run seed, stream, index), a resumed run draws exactly what an
// uninterrupted one would, from the step number alone: no generator state needs to be saved.
#pragma once

#include <cstdint>

namespace stepwise::training {

enum class SeedStream : uint64_t { kInit = 1, kBatchOrder = 2, kNoise = 3, kValidation = 4 };

// SplitMix64 finaliser: a bijective mix of 64 bits.
inline uint64_t mix_seed(uint64_t value) {
  value += 0x9E3779B97F4A7C15ULL;
  value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9ULL;
  value = (value ^ (value >> 27)) * 0x94D049BB133111EBULL;
  return value ^ (value >> 31);
}

// The seed of draw `index` (an epoch, a step) of `stream` in a run seeded with `seed`.
inline uint64_t derive_seed(uint64_t seed, SeedStream stream, uint64_t index) {
  return mix_seed(mix_seed(mix_seed(seed) ^ static_cast<uint64_t>(stream)) ^ index);
}

}  // namespace stepwise::training
