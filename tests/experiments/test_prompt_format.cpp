// Data and prompt formats: Dream-format JSONL files, the plain source [SEP] target [EOS] encoding on
// the character vocabulary, and Dream's few-shot prompts and answer extraction.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/tokenizer/tokenizer.h"
#include "experiments/tasks/dream_prompt.h"
#include "experiments/tasks/plain_format.h"
#include "experiments/tasks/record_jsonl.h"
#include "experiments/tasks/scoring.h"

namespace stepwise::tasks {
namespace {

// A file in a fresh temporary directory, removed with the directory at the end of the test.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    directory_ = std::filesystem::temp_directory_path() /
                 ("stepwise_tasks_" + std::to_string(::getpid()) + "_" + info->test_suite_name() + "_" + info->name());
    std::filesystem::create_directories(directory_);
    path_ = (directory_ / "data.jsonl").string();
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~TempFile() { std::filesystem::remove_all(directory_); }
  const std::string& path() const { return path_; }
  std::string sibling(const std::string& name) const { return (directory_ / name).string(); }

 private:
  std::filesystem::path directory_;
  std::string path_;
};

// ---- JSONL records ------------------------------------------------------------------------------

TEST(RecordJsonl, LoadsDreamFilesUnchanged) {
  // Lines exactly as in Dream's cd4_test.jsonl and sudoku_4x4_4.jsonl, plus an extra key.
  const TempFile file(
      "{\"input\": \"86,28,13,31,96\", \"output\": \"86+28=114,31-13=18,114-18=96\"}\n"
      "{\"input\": \"1000\\n0002\\n4003\\n0000\", \"output\": \"1234\\n3412\\n4123\\n2341\"}\n"
      "\n"
      "{\"input\": \"15,44,79,50\", \"output\": \"44-15=29,79-29=50\", \"source\": \"cd3\"}\n");
  std::vector<size_t> lines;
  const auto records = read_task_records(file.path(), &lines);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].input, "86,28,13,31,96");
  EXPECT_EQ(records[0].output, "86+28=114,31-13=18,114-18=96");
  EXPECT_EQ(records[1].input, "1000\n0002\n4003\n0000");
  EXPECT_EQ(records[1].output, "1234\n3412\n4123\n2341");
  EXPECT_EQ(records[2].output, "44-15=29,79-29=50");
  EXPECT_EQ(lines, (std::vector<size_t>{1, 2, 4}));  // the blank line 3 is skipped
}

TEST(RecordJsonl, WritesDreamSpacingAndReadsBack) {
  const std::vector<TaskRecord> records = {{"1000\n0002\n4003\n0000", "1234\n3412\n4123\n2341"},
                                           {"86,28,13,31,96", "86+28=114,31-13=18,114-18=96"}};
  EXPECT_EQ(format_task_record(records[0]),
            "{\"input\": \"1000\\n0002\\n4003\\n0000\", \"output\": \"1234\\n3412\\n4123\\n2341\"}");
  const TempFile file("");
  const std::string path = file.sibling("written.jsonl");
  write_task_records(path, records);
  EXPECT_EQ(read_task_records(path), records);
  write_predictions(path, {"86+28=114", ""});
  EXPECT_EQ(read_predictions(path), (std::vector<std::string>{"86+28=114", ""}));
}

void expect_error_mentions(const std::string& content, const std::string& expected) {
  const TempFile file(content);
  try {
    read_task_records(file.path());
    ADD_FAILURE() << "no error for: " << content;
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(file.path() + ":" + expected), std::string::npos) << message;
  }
}

TEST(RecordJsonl, MalformedLinesNameFileAndLine) {
  const std::string good = "{\"input\": \"1,2,3\", \"output\": \"1+2=3\"}\n";
  expect_error_mentions(good + "{\"input\": \"1,2,3\", \n", "2: not valid JSON");
  expect_error_mentions(good + good + "[1, 2]\n", "3: expected a JSON object");
  expect_error_mentions(good + "{\"output\": \"1+2=3\"}\n", "2: missing key \"input\"");
  expect_error_mentions("{\"input\": \"1,2,3\"}\n", "1: missing key \"output\"");
  expect_error_mentions("{\"input\": 123, \"output\": \"x\"}\n", "1: key \"input\" must be a string");
  EXPECT_THROW(read_task_records("/nonexistent/stepwise/data.jsonl"), Error);
}

TEST(RecordJsonl, PredictionsNeedThePredictionKey) {
  const TempFile file("{\"prediction\": \"1+2=3\"}\n{\"answer\": \"x\"}\n");
  try {
    read_predictions(file.path());
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(file.path() + ":2: missing key \"prediction\""), std::string::npos)
        << e.what();
  }
}

// ---- Plain format -------------------------------------------------------------------------------

// Character ids of the vocabulary: '0'..'9' are 5..14, '+' 16, '-' 17, '=' 19, ',' 20.
int64_t id(char c) {
  if (c >= '0' && c <= '9') return 5 + (c - '0');
  switch (c) {
    case '+':
      return 16;
    case '-':
      return 17;
    case '=':
      return 19;
    case ',':
      return 20;
    default:
      return -1;
  }
}

std::vector<int64_t> ids(const std::string& text, int64_t last) {
  std::vector<int64_t> out;
  for (char c : text) out.push_back(id(c));
  out.push_back(last);
  return out;
}

TEST(PlainFormat, EncodesSudokuWithoutLineBreaks) {
  const CharTokenizer tokenizer;
  const TaskRecord record{"1000\n0002\n4003\n0000", "1234\n3412\n4123\n2341"};
  const PlainEncoding encoding = encode_plain(record, tokenizer);
  EXPECT_EQ(encoding.source_ids, ids("1000000240030000", CharTokenizer::kSep));
  EXPECT_EQ(encoding.target_ids, ids("1234341241232341", CharTokenizer::kEos));
  EXPECT_EQ(encoding.source_ids.size(), 17u);
  EXPECT_EQ(encoding.source_ids.front(), 6);  // '1'
  EXPECT_EQ(encoding.source_ids.back(), 1);   // [SEP]
  EXPECT_EQ(encoding.target_ids.back(), 3);   // [EOS]
}

TEST(PlainFormat, EncodesCountdownAsIs) {
  const CharTokenizer tokenizer;
  const TaskRecord record{"86,28,13,31,96", "86+28=114,31-13=18,114-18=96"};
  const PlainEncoding encoding = encode_plain(record, tokenizer);
  EXPECT_EQ(encoding.source_ids, ids("86,28,13,31,96", CharTokenizer::kSep));
  EXPECT_EQ(encoding.target_ids, ids("86+28=114,31-13=18,114-18=96", CharTokenizer::kEos));
  EXPECT_EQ(std::vector<int64_t>(encoding.source_ids.begin(), encoding.source_ids.begin() + 3),
            (std::vector<int64_t>{13, 11, 20}));  // '8' '6' ','
}

TEST(PlainFormat, RoundTripsThroughTheScorers) {
  const CharTokenizer tokenizer;
  const TaskRecord sudoku{"1000\n0002\n4003\n0000", "1234\n3412\n4123\n2341"};
  const std::string decoded_grid = decode_plain(encode_plain(sudoku, tokenizer).target_ids, tokenizer);
  EXPECT_EQ(decoded_grid, "1234341241232341");
  EXPECT_TRUE(score_prediction(Metric::kSudokuExact, sudoku, decoded_grid));
  // Dream's check reads the grid line by line: the flat answer is invalid until the layout step restores
  // the line breaks, as the pipeline does before scoring.
  EXPECT_FALSE(score_prediction(Metric::kSudokuValid, sudoku, decoded_grid));
  EXPECT_TRUE(score_prediction(Metric::kSudokuValid, sudoku,
                               restore_answer_layout(TaskKind::kSudoku, sudoku.input, decoded_grid)));
  const TaskRecord countdown{"86,28,13,31,96", "86+28=114,31-13=18,114-18=96"};
  const std::string decoded_steps = decode_plain(encode_plain(countdown, tokenizer).target_ids, tokenizer);
  EXPECT_EQ(decoded_steps, countdown.output);
  EXPECT_TRUE(score_prediction(Metric::kCountdownNumbers, countdown, decoded_steps));
  EXPECT_EQ(decode_plain(encode_plain_source(countdown.input, tokenizer), tokenizer), "86,28,13,31,96[SEP]");
}

TEST(PlainFormat, DecodeStopsAtEosOrPadAndKeepsOtherSpecials) {
  const CharTokenizer tokenizer;
  EXPECT_EQ(decode_plain({6, 7, CharTokenizer::kEos, 8, 9}, tokenizer), "12");
  EXPECT_EQ(decode_plain({6, 7, CharTokenizer::kPad, 8}, tokenizer), "12");
  EXPECT_EQ(decode_plain({CharTokenizer::kEos}, tokenizer), "");
  EXPECT_EQ(decode_plain({}, tokenizer), "");
  // An unfilled mask stays visible, so the prediction cannot pass as a shorter valid answer.
  EXPECT_EQ(decode_plain({6, CharTokenizer::kMask, 7, CharTokenizer::kEos}, tokenizer), "1[MASK]2");
  EXPECT_FALSE(score_prediction(Metric::kCountdownEquations, {"1,2,3", "1+2=3"},
                                decode_plain({6, CharTokenizer::kMask, 7}, tokenizer)));
}

TEST(PlainFormat, RejectsCharactersOutsideTheVocabulary) {
  const CharTokenizer tokenizer;
  EXPECT_THROW(encode_plain({"86, 28,96", "x"}, tokenizer), Error);  // space
  EXPECT_THROW(encode_plain({"1,2,3", "1+2=3."}, tokenizer), Error);
  EXPECT_EQ(plain_text("12\r\n34\n"), "1234");
}

// ---- Dream few-shot prompts ---------------------------------------------------------------------

TEST(DreamPrompt, CountdownTemplate) {
  const std::vector<TaskRecord> shots = {{"86,28,13,31,96", "86+28=114,31-13=18,114-18=96"},
                                         {"39,22,92,10,89", "39+92=131,22*10=220,220-131=89"}};
  EXPECT_EQ(build_dream_prompt(TaskKind::kCountdown, shots, "79,62,7,12,57"),
            "Given 5 numbers, use +-*/ to operate over the first four numbers to achieve the fifth number.\n\n"
            "Input: 86,28,13,31,96\nOutput: 86+28=114,31-13=18,114-18=96\n\n"
            "Input: 39,22,92,10,89\nOutput: 39+92=131,22*10=220,220-131=89\n\n"
            "Input: 79,62,7,12,57\nOutput: ");
  EXPECT_EQ(dream_task_description(TaskKind::kCountdown, "15,44,79,50"),
            "Given 4 numbers, use +-*/ to operate over the first three numbers to achieve the last number.\n\n");
  EXPECT_EQ(dream_task_description(TaskKind::kCountdown, "50,36,82,44,31,51"),
            "Given 6 numbers, use +-*/ to operate over the first five numbers to achieve the last number.\n\n");
  EXPECT_THROW(dream_task_description(TaskKind::kCountdown, "5,10"), Error);
}

TEST(DreamPrompt, SudokuTemplate) {
  const std::vector<TaskRecord> shots = {{"1000\n0002\n4003\n0000", "1234\n3412\n4123\n2341"}};
  EXPECT_EQ(build_dream_prompt(TaskKind::kSudoku, shots, "0020\n0100\n0300\n0010"),
            "Fill the positions where the values are 0 in a 4x4 grid with digits 1-4 so that each column, each row, "
            "and each of the four 2x2 subgrids that compose the grid contains all of the digits from 1 to 4.\n\n"
            "Input:\n1000\n0002\n4003\n0000\nOutput:\n1234\n3412\n4123\n2341\n\n"
            "Input:\n0020\n0100\n0300\n0010\nOutput:\n ");
  EXPECT_NE(dream_task_description(TaskKind::kSudoku, std::string(81, '0')).find("9x9 grid with digits 1-9"),
            std::string::npos);
}

TEST(DreamPrompt, FirstEightRecordsAreTheShots) {
  std::vector<TaskRecord> records;
  for (int i = 0; i < 10; ++i) records.push_back({std::to_string(i) + ",1", "x"});
  const FewShotSplit split = split_few_shot(records);
  ASSERT_EQ(split.shots.size(), 8u);
  ASSERT_EQ(split.evaluation.size(), 2u);
  EXPECT_EQ(split.shots[0].input, "0,1");
  EXPECT_EQ(split.evaluation[0].input, "8,1");
  records.resize(8);
  EXPECT_THROW(split_few_shot(records), Error);
}

TEST(DreamPrompt, ExtractsAnswersLikeDream) {
  EXPECT_EQ(extract_dream_answer(TaskKind::kCountdown, "86,28,13,31,96",
                                 "86+28=114,31-13=18,114-18=96\n\nInput: 1,2,3,4,5\nOutput: 1+2=3"),
            "86+28=114,31-13=18,114-18=96");
  EXPECT_EQ(extract_dream_answer(TaskKind::kCountdown, "1,2,3", "1+2=3<|end_of_text|>junk"), "1+2=3");
  const std::string puzzle = "1000\n0002\n4003\n0000";
  EXPECT_EQ(extract_dream_answer(TaskKind::kSudoku, puzzle, "1234\n3412\n4123\n2341\n\nInput:\n0000"),
            "1234\n3412\n4123\n2341");
  EXPECT_EQ(extract_dream_answer(TaskKind::kSudoku, puzzle, "1 2 3 4\n3412\n4123\n2341<|endoftext|>\n"),
            "1234\n3412\n4123\n2341");
  // Dream keeps at most as many characters as the puzzle text (19 here).
  EXPECT_EQ(extract_dream_answer(TaskKind::kSudoku, puzzle, "1234\n3412\n4123\n2341\n1234"), "1234\n3412\n4123\n2341");
}

}  // namespace
}  // namespace stepwise::tasks
