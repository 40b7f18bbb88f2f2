// Terminal progress bar / periodic log lines.
#include "experiments/terminal/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <sstream>

namespace stepwise {

ProgressBar::ProgressBar(std::string label, int64_t total, std::FILE* stream, double log_interval_s)
    : label_(std::move(label)),
      total_(std::max<int64_t>(total, 0)),
      stream_(stream),
      terminal_(::isatty(::fileno(stream)) != 0),
      log_interval_s_(log_interval_s) {}

ProgressBar::~ProgressBar() {
  if (!finished_ && terminal_) std::fputc('\n', stream_);
}

std::string ProgressBar::format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long total = static_cast<long>(std::lround(seconds));
  char buffer[32];
  if (total >= 3600)
    std::snprintf(buffer, sizeof buffer, "%ldh%02ldm", total / 3600, (total / 60) % 60);
  else
    std::snprintf(buffer, sizeof buffer, "%ldm%02lds", total / 60, total % 60);
  return buffer;
}

void ProgressBar::update(int64_t done, const std::string& status) {
  done_ = std::min(done, total_);
  const double now = clock_.seconds();
  const double interval = terminal_ ? 0.1 : log_interval_s_;
  if (now - last_draw_s_ < interval && done_ < total_) return;
  last_draw_s_ = now;
  draw(status, false);
}

void ProgressBar::finish(const std::string& status) {
  if (finished_) return;
  done_ = total_;
  draw(status, true);
  finished_ = true;
}

void ProgressBar::draw(const std::string& status, bool final_line) {
  const double elapsed = clock_.seconds();
  const double fraction = total_ > 0 ? static_cast<double>(done_) / total_ : 1.0;
  const double eta = done_ > 0 ? elapsed * (total_ - done_) / done_ : NAN;
  std::ostringstream line;
  line << label_ << " ";
  if (terminal_) {
    const int width = 24;
    const int filled = static_cast<int>(fraction * width);
    line << "[" << std::string(filled, '#') << std::string(width - filled, '.') << "] ";
  }
  line << done_ << "/" << total_ << " (" << static_cast<int>(fraction * 100) << "%) elapsed "
       << format_duration(elapsed);
  if (!final_line) line << " eta " << format_duration(eta);
  if (!status.empty()) line << " | " << status;
  if (terminal_) {
    std::fprintf(stream_, "\r\033[K%s%s", line.str().c_str(), final_line ? "\n" : "");
  } else {
    std::fprintf(stream_, "%s\n", line.str().c_str());
  }
  std::fflush(stream_);
}

}  // namespace stepwise
