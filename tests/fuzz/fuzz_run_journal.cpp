// Fuzz target: reopening a run journal (the JSONL progress log of one run). Opening either succeeds or
// throws stepwise::Error naming the file and line. A journal that opens and is not complete accepts one
// more example and the completion marker, and reopening it gives back the same examples plus that one.
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "experiments/runner/run_journal.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using stepwise::runner::ExampleRecord;

bool same_example(const ExampleRecord& a, const ExampleRecord& b) {
  return a.index == b.index && a.prompt == b.prompt && a.reference == b.reference && a.prediction == b.prediction &&
         a.correct == b.correct && a.forward_calls == b.forward_calls && a.generated_tokens == b.generated_tokens &&
         a.commit_step == b.commit_step;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace stepwise;
  const std::string path = fuzz::scratch_dir() + "/journal.jsonl";
  fuzz::write_bytes(path, data, size);
  std::vector<ExampleRecord> examples;
  try {
    runner::RunJournal journal(path, "fuzz-run");
    if (journal.complete()) return 0;
    examples = journal.examples();
    ExampleRecord added;
    added.index = 1000003;
    added.prompt = "1,2,3";
    added.prediction = "1+2=3";
    added.correct = true;
    added.commit_step = {1, 0};
    const bool replaces = journal.contains(added.index);
    journal.append({added});
    journal.mark_complete();
    if (!replaces) examples.push_back(added);
    for (auto& example : examples)
      if (example.index == added.index) example = added;
  } catch (const Error&) {
    return 0;
  }
  runner::RunJournal reopened(path, "fuzz-run");
  FUZZ_EXPECT(reopened.complete());
  FUZZ_EXPECT(reopened.dropped_bytes() == 0);
  FUZZ_EXPECT(reopened.examples().size() == examples.size());
  for (size_t i = 0; i < examples.size(); ++i) FUZZ_EXPECT(same_example(reopened.examples()[i], examples[i]));
  return 0;
}
