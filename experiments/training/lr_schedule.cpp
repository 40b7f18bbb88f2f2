// Warm-up + cosine learning rate.
#include "experiments/training/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace stepwise::training {

double learning_rate_at(const LrSchedule& schedule, int64_t step) {
  check(schedule.peak_lr > 0.0, "peak learning rate must be positive, got ", schedule.peak_lr);
  check(schedule.total_steps > 0, "total steps must be positive, got ", schedule.total_steps);
  check(schedule.warmup_steps >= 0 && schedule.warmup_steps <= schedule.total_steps, "warm-up steps (",
        schedule.warmup_steps, ") must lie in [0, total steps = ", schedule.total_steps, "]");
  check(schedule.min_ratio >= 0.0 && schedule.min_ratio <= 1.0, "minimum learning-rate ratio must lie in [0, 1]");
  if (step < schedule.warmup_steps)
    return schedule.peak_lr * static_cast<double>(step + 1) / static_cast<double>(schedule.warmup_steps);
  const double span = static_cast<double>(std::max<int64_t>(1, schedule.total_steps - schedule.warmup_steps));
  const double progress = std::clamp(static_cast<double>(step - schedule.warmup_steps) / span, 0.0, 1.0);
  const double min_lr = schedule.peak_lr * schedule.min_ratio;
  return min_lr + (schedule.peak_lr - min_lr) * 0.5 * (1.0 + std::cos(M_PI * progress));
}

}  // namespace stepwise::training
