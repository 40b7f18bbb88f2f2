// Progress reporting for long work (training, evaluation sweeps). On a terminal it redraws one line
// with a bar, rate, ETA and a caller-provided status (loss, accuracy); otherwise it prints a plain log
// line at most every `log_interval_s` seconds, so logs of CI or batch jobs stay readable.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "core/timing.h"

namespace stepwise {

class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t total, std::FILE* stream = stderr, double log_interval_s = 10.0);
  ~ProgressBar();

  // Marks `done` units complete (absolute count) and shows `status` next to the bar.
  void update(int64_t done, const std::string& status = "");
  // Prints the final line (once).
  void finish(const std::string& status = "");

  static std::string format_duration(double seconds);

 private:
  void draw(const std::string& status, bool final_line);

  std::string label_;
  int64_t total_;
  int64_t done_ = 0;
  std::FILE* stream_;
  bool terminal_;
  double log_interval_s_;
  double last_draw_s_ = -1e9;
  bool finished_ = false;
  Stopwatch clock_;
};

}  // namespace stepwise
