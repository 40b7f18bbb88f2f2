// Learning-rate schedule: linear warm-up from peak/warmup to the peak, then a half cosine from the
// peak down to min_ratio * peak at total_steps. Pure arithmetic, torch-free.
#pragma once

#include <cstdint>

namespace stepwise::training {

struct LrSchedule {
  double peak_lr = 1e-3;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  double min_ratio = 0.1;  // final learning rate as a fraction of the peak
};

// Learning rate used by optimizer step `step` (0-based): peak * (step+1) / warmup during warm-up,
// then min + (peak - min) * (1 + cos(pi * progress)) / 2 with progress = (step - warmup) /
// (total - warmup), clamped to [0, 1]. Throws stepwise::Error for an inconsistent schedule.
double learning_rate_at(const LrSchedule& schedule, int64_t step);

}  // namespace stepwise::training
