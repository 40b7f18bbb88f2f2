// Token-sampling settings shared by every decoder and by experiment configs (torch-free).
// temperature <= 0 means greedy argmax; top_k / top_p are optional filters (Dream's order:
// temperature, then top-p, then top-k).
#pragma once

#include <cstdint>
#include <optional>

namespace stepwise {

struct SamplingParams {
  double temperature = 0.0;      // <= 0 means greedy (argmax)
  std::optional<int64_t> top_k;  // keep the k largest logits
  std::optional<double> top_p;   // keep the smallest set whose probability reaches p
  bool greedy() const { return temperature <= 0.0; }
};

}  // namespace stepwise
