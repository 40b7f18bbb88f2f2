// Fixed-width summary table; widths count UTF-8 code points so non-ASCII names stay aligned.
#include "experiments/runner/summary_table.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace stepwise::runner {
namespace {

constexpr int kAccuracyWidth = 9;
constexpr int kNfeWidth = 9;
constexpr int kTokensWidth = 10;
constexpr int kWallWidth = 9;
constexpr int kTtftWidth = 11;

bool is_continuation_byte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

size_t display_width(const std::string& text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) { return !is_continuation_byte(c); }));
}

// The first `width` code points of `text`, with "..." as the last three when it had to be cut.
std::string fit_name(const std::string& text) {
  if (display_width(text) <= kMaxNameWidth) return text;
  size_t points = 0, end = 0;
  while (end < text.size()) {
    if (!is_continuation_byte(text[end])) {
      if (points == kMaxNameWidth - 3) break;
      ++points;
    }
    ++end;
  }
  return text.substr(0, end) + "...";
}

std::string pad_right(const std::string& text, size_t width) {
  const size_t shown = display_width(text);
  return shown >= width ? text : text + std::string(width - shown, ' ');
}

std::string format_wall(double seconds) {
  char buffer[32];
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  if (seconds < 100.0) {
    std::snprintf(buffer, sizeof buffer, "%.2fs", seconds);
  } else if (seconds < 3600.0) {
    const long total = std::lround(seconds);
    std::snprintf(buffer, sizeof buffer, "%ldm%02lds", total / 60, total % 60);
  } else {
    const long total = std::lround(seconds);
    std::snprintf(buffer, sizeof buffer, "%ldh%02ldm", total / 3600, (total / 60) % 60);
  }
  return buffer;
}

// Times to first token: milliseconds below a second, else as wall times.
std::string format_latency(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  if (seconds >= 1.0) return format_wall(seconds);
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1fms", 1000.0 * seconds);
  return buffer;
}

}  // namespace

std::string format_summary_table(const std::vector<RunRecord>& runs) {
  size_t name_width = 4;  // "name"
  for (const auto& run : runs) name_width = std::max(name_width, display_width(fit_name(run.name)));
  char buffer[160];
  std::snprintf(buffer, sizeof buffer, "  %*s%*s%*s%*s%*s%*s\n", kAccuracyWidth, "accuracy", kNfeWidth, "NFE",
                kTokensWidth, "tokens/s", kWallWidth, "wall", kTtftWidth, "TTFT mean", kTtftWidth, "TTFT p90");
  std::string out = pad_right("name", name_width) + buffer;
  for (const auto& run : runs) {
    char accuracy[32];
    std::snprintf(accuracy, sizeof accuracy, "%.1f%%", 100.0 * run.accuracy());
    const LatencySummary ttft = run.ttft_summary();
    std::snprintf(buffer, sizeof buffer, "  %*s%*.1f%*.1f%*s%*s%*s\n", kAccuracyWidth, accuracy, kNfeWidth,
                  run.mean_forward_calls(), kTokensWidth, run.tokens_per_second(), kWallWidth,
                  format_wall(run.total_wall_s()).c_str(), kTtftWidth, format_latency(ttft.mean_s).c_str(), kTtftWidth,
                  format_latency(ttft.p90_s).c_str());
    out += pad_right(fit_name(run.name), name_width) + buffer;
  }
  return out;
}

}  // namespace stepwise::runner
