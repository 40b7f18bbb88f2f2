// The run journal: finished examples survive reopening with every field; a torn last line (missing
// newline or unparseable) is dropped and cut off so later appends stay readable; damaged earlier
// lines, foreign files and other runs' journals are errors; completion and locking work; lines
// written before ttft_s existed read with ttft_s = 0.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "experiments/runner/run_journal.h"

namespace stepwise::runner {
namespace {

namespace fs = std::filesystem;

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("stepwise-journal-" + std::string(info->name()) + "-" +
                                        std::to_string(::getpid()));
    fs::remove_all(dir_);
    path_ = (dir_ / "journal" / "run.jsonl").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string contents() const {
    std::ifstream in(path_, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }
  void append_raw(const std::string& bytes) const {
    std::ofstream out(path_, std::ios::binary | std::ios::app);
    out << bytes;
  }
  void write_raw(const std::string& bytes) const {
    fs::create_directories(fs::path(path_).parent_path());
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out << bytes;
  }

  fs::path dir_;
  std::string path_;
};

ExampleRecord example(int64_t index) {
  ExampleRecord record;
  record.index = index;
  record.prompt = "prompt ✓ " + std::to_string(index) + "\nline two";
  record.reference = "ref \"" + std::to_string(index) + "\"";
  record.prediction = index % 2 ? "数独" : "";
  record.correct = index % 2 == 1;
  record.forward_calls = 10 + index;
  record.generated_tokens = 3 * index;
  record.wall_s = 0.1 * static_cast<double>(index) + 1.0 / 3.0;
  record.first_token_s = 1e-7 * static_cast<double>(index);
  record.ttft_s = 0.3 + 1e-3 * static_cast<double>(index) / 7.0;
  if (index % 3 == 0) record.commit_step = {0, 2, 1, static_cast<int64_t>(index)};
  return record;
}

void expect_same(const ExampleRecord& actual, const ExampleRecord& expected) {
  EXPECT_EQ(actual.index, expected.index);
  EXPECT_EQ(actual.prompt, expected.prompt);
  EXPECT_EQ(actual.reference, expected.reference);
  EXPECT_EQ(actual.prediction, expected.prediction);
  EXPECT_EQ(actual.correct, expected.correct);
  EXPECT_EQ(actual.forward_calls, expected.forward_calls);
  EXPECT_EQ(actual.generated_tokens, expected.generated_tokens);
  EXPECT_EQ(actual.wall_s, expected.wall_s);
  EXPECT_EQ(actual.first_token_s, expected.first_token_s);
  EXPECT_EQ(actual.ttft_s, expected.ttft_s);  // bit for bit
  EXPECT_EQ(actual.commit_step, expected.commit_step);
}

std::vector<int64_t> indices(const RunJournal& journal) {
  std::vector<int64_t> out;
  for (const auto& record : journal.examples()) out.push_back(record.index);
  return out;
}

TEST_F(JournalTest, ReopensWithEveryFinishedExample) {
  {
    RunJournal journal(path_, "run-a");
    EXPECT_TRUE(journal.examples().empty());
    journal.append({example(0), example(1)});
    journal.append({example(2)});
    EXPECT_TRUE(journal.contains(2));
  }
  RunJournal journal(path_, "run-a");
  ASSERT_EQ(indices(journal), (std::vector<int64_t>{0, 1, 2}));
  for (int64_t i = 0; i < 3; ++i) expect_same(journal.examples()[static_cast<size_t>(i)], example(i));
  EXPECT_FALSE(journal.complete());
  EXPECT_EQ(journal.dropped_bytes(), 0);
  EXPECT_FALSE(journal.contains(3));
}

TEST_F(JournalTest, DropsATornLastLineWithoutNewline) {
  { RunJournal(path_, "run-a").append({example(0), example(1)}); }
  const std::string clean = contents();
  const std::string torn = "{\"kind\":\"example\",\"example\":{\"index\":2,\"prompt\":\"par";
  append_raw(torn);
  {
    RunJournal journal(path_, "run-a");
    EXPECT_EQ(indices(journal), (std::vector<int64_t>{0, 1}));
    EXPECT_EQ(journal.dropped_bytes(), static_cast<int64_t>(torn.size()));
    EXPECT_EQ(contents(), clean);  // cut off, so the next line starts cleanly
    journal.append({example(2)});
  }
  RunJournal journal(path_, "run-a");
  EXPECT_EQ(indices(journal), (std::vector<int64_t>{0, 1, 2}));
  expect_same(journal.examples()[2], example(2));
}

TEST_F(JournalTest, DropsAnUnparseableLastLineAndAParseableOneWithoutNewline) {
  { RunJournal(path_, "run-a").append({example(0)}); }
  append_raw("{\"kind\":\"exam\n");
  {
    RunJournal journal(path_, "run-a");
    EXPECT_EQ(indices(journal), (std::vector<int64_t>{0}));
    EXPECT_GT(journal.dropped_bytes(), 0);
  }
  // Complete JSON whose newline never reached the disk still counts as torn.
  append_raw("{\"kind\":\"complete\",\"examples\":1}");
  RunJournal journal(path_, "run-a");
  EXPECT_FALSE(journal.complete());
  EXPECT_EQ(indices(journal), (std::vector<int64_t>{0}));
}

TEST_F(JournalTest, DamagedEarlierLineIsAnError) {
  { RunJournal(path_, "run-a").append({example(0)}); }
  append_raw("garbage\n");
  { RunJournal(path_, "run-a").append({}); }  // as the last line it is torn: dropped
  append_raw("garbage\n");
  { RunJournal(path_, "run-a"); }
  append_raw("garbage\n");
  {
    RunJournal journal(path_, "run-a");
    journal.append({example(1)});
  }
  // Now a bad line sits before a good one: that is damage, not a crash artifact.
  const std::string good = contents();
  const size_t header_end = good.find('\n') + 1;
  write_raw(good.substr(0, header_end) + "garbage\n" + good.substr(header_end));
  try {
    RunJournal journal(path_, "run-a");
    ADD_FAILURE() << "expected stepwise::Error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(path_ + ":2"), std::string::npos) << error.what();
  }
}

TEST_F(JournalTest, CompletionMarker) {
  {
    RunJournal journal(path_, "run-a");
    journal.append({example(0)});
    journal.mark_complete();
    EXPECT_TRUE(journal.complete());
    EXPECT_THROW(journal.append({example(1)}), Error);
  }
  RunJournal journal(path_, "run-a");
  EXPECT_TRUE(journal.complete());
  EXPECT_EQ(indices(journal), (std::vector<int64_t>{0}));
}

TEST_F(JournalTest, LaterLineForTheSameIndexReplacesTheEarlierOne) {
  ExampleRecord updated = example(1);
  updated.prediction = "second try";
  {
    RunJournal journal(path_, "run-a");
    journal.append({example(0), example(1), example(2)});
    journal.append({updated});
    EXPECT_EQ(journal.examples()[1].prediction, "second try");
  }
  RunJournal journal(path_, "run-a");
  EXPECT_EQ(indices(journal), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(journal.examples()[1].prediction, "second try");
}

TEST_F(JournalTest, BelongsToOneRun) {
  { RunJournal(path_, "run-a").append({example(0)}); }
  try {
    RunJournal journal(path_, "run-b");
    ADD_FAILURE() << "expected stepwise::Error";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(path_), std::string::npos) << message;
    EXPECT_NE(message.find("run-a"), std::string::npos) << message;
  }
}

TEST_F(JournalTest, ForeignFileIsLeftAlone) {
  write_raw("some notes, not a journal");
  EXPECT_THROW(RunJournal(path_, "run-a"), Error);
  EXPECT_EQ(contents(), "some notes, not a journal");
  write_raw("{\"hello\": 1}\n");
  EXPECT_THROW(RunJournal(path_, "run-a"), Error);
  EXPECT_EQ(contents(), "{\"hello\": 1}\n");
}

TEST_F(JournalTest, TornHeaderStartsOver) {
  { RunJournal(path_, "run-a"); }
  const std::string header = contents();
  write_raw(header.substr(0, header.size() / 2));
  {
    RunJournal journal(path_, "run-a");
    EXPECT_TRUE(journal.examples().empty());
    journal.append({example(5)});
  }
  EXPECT_EQ(indices(RunJournal(path_, "run-a")), (std::vector<int64_t>{5}));
}

TEST_F(JournalTest, StoresTtftAndReadsOlderLinesWithoutItAsZero) {
  { RunJournal(path_, "run-a").append({example(1)}); }
  EXPECT_NE(contents().find("\"ttft_s\":"), std::string::npos) << contents();
  // A line as journals wrote it before ttft_s existed.
  append_raw(
      "{\"kind\":\"example\",\"example\":{\"index\":4,\"prompt\":\"p\",\"reference\":\"r\",\"prediction\":\"r\","
      "\"correct\":true,\"forward_calls\":3,\"generated_tokens\":2,\"wall_s\":0.5,\"first_token_s\":0.25,"
      "\"commit_step\":[]}}\n");
  RunJournal journal(path_, "run-a");
  ASSERT_EQ(indices(journal), (std::vector<int64_t>{1, 4}));
  expect_same(journal.examples()[0], example(1));
  const ExampleRecord& old = journal.examples()[1];
  EXPECT_EQ(old.ttft_s, 0.0);
  EXPECT_EQ(old.first_token_s, 0.25);
  EXPECT_EQ(old.forward_calls, 3);
  EXPECT_TRUE(old.correct);
}

TEST_F(JournalTest, MistypedTtftIsAnErrorNamingTheLine) {
  { RunJournal(path_, "run-a").append({example(0)}); }
  std::string text = contents();
  const size_t at = text.find("\"ttft_s\":");
  ASSERT_NE(at, std::string::npos);
  const size_t end = text.find_first_of(",}", at);
  text.replace(at, end - at, "\"ttft_s\":\"soon\"");
  write_raw(text + "{\"kind\":\"complete\",\"examples\":1}\n");  // not the last line: damage, not a torn write
  try {
    RunJournal journal(path_, "run-a");
    ADD_FAILURE() << "expected stepwise::Error";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(path_ + ":2"), std::string::npos) << message;
    EXPECT_NE(message.find("ttft_s"), std::string::npos) << message;
  }
}

TEST_F(JournalTest, UntouchedJournalHasNoProblem) {
  {
    RunJournal journal(path_, "run-a");
    journal.append({example(0), example(1), example(2)});
    journal.mark_complete();
  }
  EXPECT_NE(contents().find("\"checksum\":\""), std::string::npos) << contents();
  RunJournal journal(path_, "run-a");
  EXPECT_EQ(journal.version(), kRunJournalVersion);
  EXPECT_EQ(journal.problem(), "");
  EXPECT_TRUE(journal.complete());
}

TEST_F(JournalTest, RecordEditedAfterWritingFailsItsChecksum) {
  {
    RunJournal journal(path_, "run-a");
    journal.append({example(0), example(1), example(2)});
  }
  std::string text = contents();
  const size_t at = text.find("\"forward_calls\":11");  // example 1, on line 3
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 18, "\"forward_calls\":12");
  write_raw(text);
  RunJournal journal(path_, "run-a");
  EXPECT_EQ(journal.problem().rfind("line 3: checksum mismatch", 0), 0u) << journal.problem();
}

TEST_F(JournalTest, DeletedLinesBeforeTheCompletionMarkerAreFound) {
  {
    RunJournal journal(path_, "run-a");
    journal.append({example(0), example(1), example(2)});
    journal.mark_complete();
  }
  std::string text = contents();
  const size_t second = text.find('\n', text.find('\n') + 1);  // end of the first example line
  write_raw(text.substr(0, text.find('\n') + 1) + text.substr(second + 1));
  RunJournal journal(path_, "run-a");
  EXPECT_EQ(journal.examples().size(), 2u);
  EXPECT_EQ(journal.problem(), "the completion line counts 3 examples but 2 are journaled");
}

TEST_F(JournalTest, VersionOneJournalWithoutChecksumsIsRead) {
  write_raw(
      "{\"kind\":\"header\",\"format\":\"stepwise-run-journal\",\"version\":1,\"run_id\":\"run-a\"}\n"
      "{\"kind\":\"example\",\"example\":{\"index\":0,\"prompt\":\"p\",\"reference\":\"r\",\"prediction\":\"r\","
      "\"correct\":true,\"forward_calls\":3,\"generated_tokens\":2,\"wall_s\":0.5,\"first_token_s\":0.25,"
      "\"commit_step\":[]}}\n"
      "{\"kind\":\"complete\",\"examples\":1}\n");
  RunJournal journal(path_, "run-a");
  EXPECT_EQ(journal.version(), 1);
  EXPECT_EQ(journal.problem(), "");
  ASSERT_EQ(indices(journal), (std::vector<int64_t>{0}));
  EXPECT_TRUE(journal.complete());
}

TEST_F(JournalTest, OneWriterAtATime) {
  RunJournal first(path_, "run-a");
  EXPECT_THROW(RunJournal(path_, "run-a"), Error);
  first.append({example(0)});
}

}  // namespace
}  // namespace stepwise::runner
