// Executes one run of the grid: decodes every evaluation example not yet in the run's journal, in
// batches chosen by the decoder's request order (decoders/request_order.h), scores each prediction,
// and journals the finished examples batch by batch, so an interrupted run resumes where it stopped.
// A journal is trusted only once checked against the task (open_checked_journal).
// Records each example's time to first token. Shows progress with ETA and the accuracy so far.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "decoders/decoder.h"
#include "experiments/runner/experiment_spec.h"
#include "experiments/runner/run_journal.h"
#include "experiments/runner/run_record.h"
#include "experiments/runner/task_prompts.h"

namespace stepwise::runner {

struct RunContext {
  const ExperimentSpec& spec;
  const TaskData& data;
  const TaskPrompts& prompts;
};

// Decodes what the journal lacks. Returns false when a stop signal arrived (the journal holds every
// finished batch); true when every example is journaled (the journal is then marked complete).
bool execute_run(const RunSpec& run, Decoder& decoder, const RunContext& context, RunJournal& journal,
                 const std::string& progress_label);

// Why the records of `journal` cannot be trusted as results of a run over `data` scored with `metric`, or
// "" when they can: the journal's own problem() (checksum, completion count), an example index outside
// [0, examples) , a reference that is not the task's, a `correct` flag that re-scoring the stored
// prediction does not give, or a completed journal that lacks examples.
std::string journal_problem(const RunJournal& journal, const TaskData& data, tasks::Metric metric);

// Opens the journal of `run` at `path`; when journal_problem() finds a reason not to trust it, says so on
// stderr naming the file and the reason, moves it aside (PATH.rejected, PATH.rejected-2, ...) and returns a
// fresh journal, so the run is redone.
std::unique_ptr<RunJournal> open_checked_journal(const std::string& path, const RunSpec& run, const TaskData& data,
                                                 tasks::Metric metric);

// The record of a run from its journal (examples in index order) and its spec.
RunRecord run_record_of(const RunSpec& run, const ExperimentSpec& spec, const RunJournal& journal);

// The seed of example `index` in a run with seed `run_seed`: independent of batch composition.
uint64_t example_seed(uint64_t run_seed, int64_t index);

}  // namespace stepwise::runner
