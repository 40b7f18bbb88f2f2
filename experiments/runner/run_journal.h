// The progress log of one run, so an interrupted experiment resumes without redoing finished
// examples: a JSONL file of a header line, one line per finished example and, at the end, a completion
// marker. Lines are appended (O_APPEND) and fsynced batch by batch. Reopening reads every complete
// line back; a torn last line (no newline, or not parseable) left by a crash is dropped and cut off.
// Each example line carries the XXH3-64 checksum of its record's canonical JSON (sorted keys), and the
// marker the number of examples, so a record edited or deleted after it was written is detected
// (problem()); version 1 journals, written before checksums, are read without them.
// The file is locked while open, so two processes cannot write the same run.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "experiments/runner/run_record.h"

namespace stepwise::runner {

inline constexpr int64_t kRunJournalVersion = 2;  // 1: no checksums (still read)

class RunJournal {
 public:
  // Opens the journal of run `run_id` at `path`, creating it (and its directory) when missing.
  // Errors: the file belongs to another run_id, is not a run journal, has a damaged line before its
  // last one, or is locked by another process.
  RunJournal(const std::string& path, const std::string& run_id);
  ~RunJournal();
  RunJournal(const RunJournal&) = delete;
  RunJournal& operator=(const RunJournal&) = delete;

  const std::string& path() const { return path_; }
  const std::string& run_id() const { return run_id_; }
  // Finished examples in the order first journaled; a later line for the same index replaces the
  // earlier one in place.
  const std::vector<ExampleRecord>& examples() const { return examples_; }
  bool contains(int64_t index) const { return position_.count(index) > 0; }
  bool complete() const { return complete_; }
  // Bytes of a torn last line dropped when the file was opened (0 when it ended cleanly).
  int64_t dropped_bytes() const { return dropped_bytes_; }
  // The format version the file was written in (its header's).
  int64_t version() const { return version_; }
  // Empty when every line checks out; otherwise why the records cannot be trusted: "line N: checksum
  // mismatch" (a record changed after it was written, or a version 2 line without a checksum), or a
  // completion marker whose example count differs from the examples journaled (lines deleted).
  const std::string& problem() const { return problem_; }

  // Appends one line per example in one write, then fsyncs. Not allowed once complete().
  void append(const std::vector<ExampleRecord>& batch);
  // Appends the completion marker and fsyncs.
  void mark_complete();

 private:
  void load(const std::string& text);
  void append_text(const std::string& text);
  void remember(ExampleRecord example);

  std::string path_;
  std::string run_id_;
  int fd_ = -1;
  int64_t size_ = 0;  // bytes of complete lines in the file
  std::vector<ExampleRecord> examples_;
  std::unordered_map<int64_t, size_t> position_;  // example index -> position in examples_
  bool complete_ = false;
  int64_t dropped_bytes_ = 0;
  int64_t version_ = kRunJournalVersion;
  std::string problem_;
};

}  // namespace stepwise::runner
