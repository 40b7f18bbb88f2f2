// Append-only JSONL journal of one run: header, example lines, completion marker.
#include "experiments/runner/run_journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string_view>

#include "core/content_hash.h"
#include "core/error.h"
#include "core/json_input.h"
#include "experiments/runner/example_json.h"

namespace stepwise::runner {
namespace {

constexpr char kFormat[] = "stepwise-run-journal";

std::string header_line(const std::string& run_id) {
  nlohmann::ordered_json header;
  header["kind"] = "header";
  header["format"] = kFormat;
  header["version"] = kRunJournalVersion;
  header["run_id"] = run_id;
  return dump_json_line(header) + "\n";
}

// The checksum of an example record: XXH3-64 of its canonical JSON (keys sorted, as nlohmann::json
// dumps them), as 16 hex digits. Reading a line back and dumping its record again gives the same text.
std::string record_checksum(const nlohmann::json& record) {
  const std::string canonical = record.dump();
  char text[17];
  std::snprintf(text, sizeof text, "%016llx",
                static_cast<unsigned long long>(checksum64({{canonical.data(), canonical.size()}})));
  return text;
}

std::string read_all(int fd, const std::string& path) {
  std::string text;
  char buffer[1 << 16];
  off_t offset = 0;
  while (true) {
    const ssize_t got = ::pread(fd, buffer, sizeof buffer, offset);
    if (got < 0 && errno == EINTR) continue;
    check(got >= 0, path, ": cannot read the run journal (", std::strerror(errno), ")");
    if (got == 0) break;
    text.append(buffer, static_cast<size_t>(got));
    offset += got;
  }
  return text;
}

void sync_directory_of(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const int fd = ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// True for what a crash while the header was being written can leave: a prefix of the header line,
// or bytes the file system allocated but never filled (zeros).
bool is_torn_header(const std::string& text, const std::string& header) {
  if (text.size() < header.size() && header.compare(0, text.size(), text) == 0) return true;
  return std::all_of(text.begin(), text.end(), [](char c) { return c == '\0'; });
}

}  // namespace

RunJournal::RunJournal(const std::string& path, const std::string& run_id) : path_(path), run_id_(run_id) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code error;
  if (!parent.empty()) std::filesystem::create_directories(parent, error);
  check(!error, path, ": cannot create the journal's directory (", error.message(), ")");
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  check(fd_ >= 0, path, ": cannot open the run journal (", std::strerror(errno), ")");
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int lock_error = errno;
    ::close(fd_);
    fd_ = -1;
    fail(path, ": the run journal is in use by another process (", std::strerror(lock_error), ")");
  }
  try {
    const std::string text = read_all(fd_, path);
    try {
      load(text);
    } catch (const nlohmann::json::exception& bad) {
      fail(path, ": malformed run journal (", bad.what(), ")");
    }
    const std::string header = header_line(run_id_);
    if (size_ == 0) {
      check(is_torn_header(text, header), path, ": not a stepwise run journal (no header line)");
    }
    if (static_cast<size_t>(size_) < text.size()) {
      dropped_bytes_ = static_cast<int64_t>(text.size()) - size_;
      check(::ftruncate(fd_, size_) == 0, path, ": cannot cut the torn last line (", std::strerror(errno), ")");
      check(::fsync(fd_) == 0, path, ": fsync failed (", std::strerror(errno), ")");
    }
    if (size_ == 0) {
      append_text(header);
      sync_directory_of(path);
    }
  } catch (...) {
    ::close(fd_);
    fd_ = -1;
    throw;
  }
}

RunJournal::~RunJournal() {
  if (fd_ >= 0) ::close(fd_);
}

void RunJournal::load(const std::string& text) {
  size_t offset = 0;
  int64_t line_number = 0;
  bool has_header = false;
  while (offset < text.size()) {
    const size_t newline = text.find('\n', offset);
    if (newline == std::string::npos) break;  // torn: the newline never made it
    ++line_number;
    const std::string where = path_ + ":" + std::to_string(line_number);
    const std::optional<nlohmann::json> parsed =
        parse_json_input_or_none(std::string_view(text).substr(offset, newline - offset));
    if (!parsed || !parsed->is_object()) {
      if (newline + 1 == text.size()) break;  // torn last line
      fail(where, ": damaged run journal line before the last one; delete the file to redo this run");
    }
    const nlohmann::json& value = *parsed;
    const std::string kind = value.value("kind", "");
    if (!has_header) {
      check(kind == "header" && value.value("format", "") == kFormat, where,
            ": not a stepwise run journal (the first line is not its header)");
      const int64_t version = value.value("version", int64_t{0});
      check(version >= 1 && version <= kRunJournalVersion, where, ": run journal version ", version,
            " is not supported (expected 1 to ", kRunJournalVersion, ")");
      version_ = version;
      const std::string owner = value.value("run_id", "");
      check(owner == run_id_, where, ": this journal belongs to run '", owner, "', not '", run_id_, "'");
      has_header = true;
    } else if (kind == "example") {
      check(value.contains("example"), where, ": example line without an 'example' object");
      const auto checksum = value.find("checksum");
      const bool checksum_required = version_ >= 2;  // version 1 lines have none; later appends do
      if (problem_.empty() && (checksum != value.end() || checksum_required) &&
          (checksum == value.end() || !checksum->is_string() || *checksum != record_checksum(value["example"])))
        problem_ = "line " + std::to_string(line_number) + ": checksum mismatch (the record was changed after it was written)";
      remember(example_from_json(value["example"], where));
    } else if (kind == "complete") {
      complete_ = true;
      const int64_t counted = value.value("examples", int64_t{-1});
      if (problem_.empty() && counted != static_cast<int64_t>(examples_.size()))
        problem_ = "the completion line counts " + std::to_string(counted) + " examples but " +
                   std::to_string(examples_.size()) + " are journaled";
    } else {
      fail(where, ": unknown run journal line kind '", kind, "'");
    }
    offset = newline + 1;
    size_ = static_cast<int64_t>(offset);
  }
}

void RunJournal::append(const std::vector<ExampleRecord>& batch) {
  check(!complete_, path_, ": run '", run_id_, "' is already marked complete; cannot add examples");
  if (batch.empty()) return;
  std::string text;
  for (const auto& example : batch) {
    nlohmann::ordered_json line;
    line["kind"] = "example";
    line["example"] = example_to_json(example);
    // Over the record as it reads back (invalid UTF-8 already replaced by the dump).
    line["checksum"] = record_checksum(nlohmann::json::parse(dump_json_line(line["example"])));
    text += dump_json_line(line);
    text += '\n';
  }
  append_text(text);
  for (const auto& example : batch) remember(example);
}

void RunJournal::mark_complete() {
  if (complete_) return;
  nlohmann::ordered_json line;
  line["kind"] = "complete";
  line["examples"] = static_cast<int64_t>(examples_.size());
  append_text(dump_json_line(line) + "\n");
  complete_ = true;
}

void RunJournal::append_text(const std::string& text) {
  const char* bytes = text.data();
  size_t left = text.size();
  while (left > 0) {
    const ssize_t written = ::write(fd_, bytes, left);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      const int write_error = errno;
      // Cut the partial lines so later appends never follow a torn one.
      if (::ftruncate(fd_, size_) != 0) { /* reopening drops the torn tail */ }
      fail(path_, ": cannot append to the run journal (", std::strerror(write_error), ")");
    }
    bytes += written;
    left -= static_cast<size_t>(written);
  }
  check(::fsync(fd_) == 0, path_, ": fsync of the run journal failed (", std::strerror(errno), ")");
  size_ += static_cast<int64_t>(text.size());
}

void RunJournal::remember(ExampleRecord example) {
  const auto found = position_.find(example.index);
  if (found != position_.end()) {
    examples_[found->second] = std::move(example);
    return;
  }
  position_[example.index] = examples_.size();
  examples_.push_back(std::move(example));
}

}  // namespace stepwise::runner
