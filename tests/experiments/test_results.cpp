// The results files: HDF5 round trip of every field (unicode, ragged traces, many runs, empty runs),
// reading schema version 1 files (no ttft_s), atomic replacement when writing fails part way, clear
// errors for missing, damaged and foreign files and for a newer schema_version, CSV quoting and the
// TTFT columns, JSONL predictions, the TTFT summary and the terminal table.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "experiments/runner/hdf5_io.h"
#include "experiments/runner/results_reader.h"
#include "experiments/runner/results_text.h"
#include "experiments/runner/results_writer.h"
#include "experiments/runner/summary_table.h"

namespace stepwise::runner {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("stepwise-results-" + std::string(info->name()) + "-" + std::to_string(::getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(path_)) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  fs::path path_;
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

ExampleRecord make_example(int64_t index, bool correct, int64_t nfe, double wall_s) {
  ExampleRecord example;
  example.index = index;
  example.prompt = "prompt " + std::to_string(index);
  example.reference = "reference " + std::to_string(index);
  example.prediction = correct ? example.reference : "wrong " + std::to_string(index);
  example.correct = correct;
  example.forward_calls = nfe;
  example.generated_tokens = 4;
  example.wall_s = wall_s;
  example.first_token_s = wall_s / 4;
  example.ttft_s = wall_s * 2;
  return example;
}

RunRecord make_run(const std::string& run_id, const std::string& name, std::vector<ExampleRecord> examples) {
  RunRecord run;
  run.run_id = run_id;
  run.name = name;
  run.decoder_type = "diffusion";
  run.model = "tiny";
  run.task = "sudoku4x4";
  run.metric = "sudoku_valid";
  run.settings = {{"steps", "8"}, {"alg", "origin"}};
  run.examples = std::move(examples);
  return run;
}

// Runs that exercise every field: unicode and awkward text, ragged traces with empty rows, a run with
// no examples, run ids out of alphabetical order, differing settings keys.
std::vector<RunRecord> rich_runs() {
  std::vector<RunRecord> runs;
  for (int r = 0; r < 12; ++r) {
    std::vector<ExampleRecord> examples;
    for (int i = 0; i < 3 + r; ++i) {
      ExampleRecord example = make_example(100 + i * 7, (i + r) % 3 == 0, 1 + r + i, 0.125 * (i + 1) + 1e-9 * r);
      example.generated_tokens = 10 + i;
      example.first_token_s = 0.1 / 3.0 + i;
      example.ttft_s = 0.7 / 3.0 + 1e-3 * (i * 13 % 5) + r;
      if (i == 1) example.prompt = "Grille : 12__\n__34, « ok » \"quoted\", tab\there";
      if (i == 2) example.prediction = "数独 ✓ 🧩 naïve";
      if (i == 3) example.reference = "";
      if (r % 2 == 0 && i != 1) {
        for (int k = 0; k < i + r; ++k) example.commit_step.push_back((k * 5 + r) % 9 - 1);
      }
      examples.push_back(example);
    }
    RunRecord run = make_run("id" + std::to_string(97 - r * 5), "diffusion steps=" + std::to_string(1 << r),
                             std::move(examples));
    run.settings = {{"steps", std::to_string(1 << r)}, {"alg", r % 2 ? "entropy" : "origin"}};
    if (r == 3) run.settings["block_length"] = "32";
    if (r == 4) {
      run.decoder_type = "ar";
      run.settings = {{"temperature", "0"}, {"note", "é, \"x\""}};
    }
    runs.push_back(std::move(run));
  }
  runs.push_back(make_run("empty-run", "no examples", {}));
  return runs;
}

ResultsMetadata rich_metadata() {
  ResultsMetadata metadata = make_results_metadata("round trip", "name: test\ndecoders:\n  - type: ar  # ✓\n", "1.13.1");
  metadata["empty"] = "";
  return metadata;
}

void expect_same_runs(const std::vector<RunRecord>& actual, const std::vector<RunRecord>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t r = 0; r < expected.size(); ++r) {
    SCOPED_TRACE("run " + expected[r].run_id);
    EXPECT_EQ(actual[r].run_id, expected[r].run_id);
    EXPECT_EQ(actual[r].name, expected[r].name);
    EXPECT_EQ(actual[r].decoder_type, expected[r].decoder_type);
    EXPECT_EQ(actual[r].model, expected[r].model);
    EXPECT_EQ(actual[r].task, expected[r].task);
    EXPECT_EQ(actual[r].metric, expected[r].metric);
    EXPECT_EQ(actual[r].settings, expected[r].settings);
    ASSERT_EQ(actual[r].examples.size(), expected[r].examples.size());
    for (size_t i = 0; i < expected[r].examples.size(); ++i) {
      const ExampleRecord& a = actual[r].examples[i];
      const ExampleRecord& e = expected[r].examples[i];
      SCOPED_TRACE("example " + std::to_string(i));
      EXPECT_EQ(a.index, e.index);
      EXPECT_EQ(a.prompt, e.prompt);
      EXPECT_EQ(a.reference, e.reference);
      EXPECT_EQ(a.prediction, e.prediction);
      EXPECT_EQ(a.correct, e.correct);
      EXPECT_EQ(a.forward_calls, e.forward_calls);
      EXPECT_EQ(a.generated_tokens, e.generated_tokens);
      EXPECT_EQ(a.wall_s, e.wall_s);  // stored as float64: bit-exact
      EXPECT_EQ(a.first_token_s, e.first_token_s);
      EXPECT_EQ(a.ttft_s, e.ttft_s);
      EXPECT_EQ(a.commit_step, e.commit_step);
    }
  }
}

void expect_error_containing(const std::function<void()>& action, const std::vector<std::string>& parts) {
  try {
    action();
    ADD_FAILURE() << "expected stepwise::Error";
  } catch (const Error& error) {
    const std::string message = error.what();
    for (const auto& part : parts) EXPECT_NE(message.find(part), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "one-line message: " << message;
  }
}

// ---- HDF5 round trip ----------------------------------------------------------------------------

TEST(ResultsHdf5, RoundTripsEveryField) {
  TempDir dir;
  const std::vector<RunRecord> runs = rich_runs();
  const ResultsMetadata metadata = rich_metadata();
  write_results_hdf5(dir.file("results.h5"), runs, metadata);
  const ResultsFile loaded = read_results_hdf5(dir.file("results.h5"));
  EXPECT_EQ(loaded.schema_version, 2);
  EXPECT_EQ(loaded.metadata, metadata);
  expect_same_runs(loaded.runs, runs);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"results.h5"});
}

TEST(ResultsHdf5, MetadataHasMachineFacts) {
  const ResultsMetadata metadata = make_results_metadata("exp", "yaml: 1\n", "1.13.1");
  EXPECT_EQ(metadata.at(kMetaExperimentName), "exp");
  EXPECT_EQ(metadata.at(kMetaResolvedYaml), "yaml: 1\n");
  EXPECT_EQ(metadata.at(kMetaLibtorchVersion), "1.13.1");
  EXPECT_EQ(metadata.at(kMetaHdf5Version).rfind("1.", 0), 0u) << metadata.at(kMetaHdf5Version);
  EXPECT_GT(std::stol(metadata.at(kMetaCpuCores)), 0);
  EXPECT_GT(std::stoll(metadata.at(kMetaMemoryBytes)), 1 << 20);
  EXPECT_FALSE(metadata.at(kMetaHostname).empty());
  EXPECT_FALSE(metadata.at(kMetaCpuModel).empty());
  EXPECT_EQ(metadata.at(kMetaCreatedUtc).size(), 20u);
}

TEST(ResultsHdf5, EmbeddedNulBecomesReplacementCharacter) {
  TempDir dir;
  RunRecord run = make_run("nul", "nul", {make_example(0, false, 1, 0.5)});
  run.examples[0].prediction = std::string("a\0b", 3);
  write_results_hdf5(dir.file("results.h5"), {run}, {});
  EXPECT_EQ(read_results_hdf5(dir.file("results.h5")).runs[0].examples[0].prediction, "a\xEF\xBF\xBD" "b");
}

TEST(ResultsHdf5, WritesResultsDirectory) {
  TempDir dir;
  const ResultsPaths paths = write_results(dir.file("exp"), rich_runs(), rich_metadata());
  EXPECT_EQ(paths.hdf5, dir.file("exp/results.h5"));
  EXPECT_EQ(read_results_hdf5(paths.hdf5).runs.size(), 13u);
  EXPECT_EQ(read_bytes(paths.summary_csv), format_summary_csv(rich_runs()));
  EXPECT_EQ(read_bytes(paths.predictions_jsonl), format_predictions_jsonl(rich_runs()));
}

// ---- Atomic replacement -------------------------------------------------------------------------

TEST(ResultsHdf5, FailedWriteKeepsThePreviousFile) {
  TempDir dir;
  const std::string path = dir.file("results.h5");
  write_results_hdf5(path, {make_run("old", "old run", {make_example(0, true, 1, 0.5)})}, {});
  const std::string before = read_bytes(path);

  // A duplicate run id is found only after the first run is in the temporary file.
  const RunRecord run = make_run("dup", "new run", {make_example(0, false, 2, 0.25)});
  expect_error_containing([&] { write_results_hdf5(path, {run, run}, {}); }, {path, "dup", "twice"});
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"results.h5"});

  // Any exception between construction and commit() discards the new file.
  EXPECT_THROW(
      {
        ResultsWriter writer(path, {{"note", "new"}});
        writer.add_run(run);
        throw std::runtime_error("interrupted");
      },
      std::runtime_error);
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"results.h5"});
  EXPECT_EQ(read_results_hdf5(path).runs.at(0).run_id, "old");
}

TEST(ResultsHdf5, DirectoryInPlaceOfTheFileIsRefusedNamingIt) {
  TempDir dir;
  const std::string path = dir.file("results.h5");
  std::filesystem::create_directories(path);
  expect_error_containing([&] { write_results_hdf5(path, {make_run("r", "run", {make_example(0, true, 1, 0.5)})}, {}); },
                          {path, "is a directory"});
  expect_error_containing([&] { write_results(std::filesystem::path(path).parent_path().string(), {make_run("r", "run", {})}, {}); },
                          {path, "is a directory"});
  EXPECT_TRUE(std::filesystem::is_directory(path));
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"results.h5"});  // no temporary file left
}

TEST(ResultsHdf5, NothingAppearsBeforeCommit) {
  TempDir dir;
  const std::string path = dir.file("results.h5");
  {
    ResultsWriter writer(path, {});
    writer.add_run(make_run("a", "a", {make_example(0, true, 1, 0.5)}));
    EXPECT_FALSE(fs::exists(path));
  }
  EXPECT_TRUE(dir.entries().empty());
}

TEST(ResultsHdf5, WriterRefusesToCommitAfterAFailedRun) {
  TempDir dir;
  const std::string path = dir.file("results.h5");
  ResultsWriter writer(path, {});
  writer.add_run(make_run("a", "a", {}));
  EXPECT_THROW(writer.add_run(make_run("a", "again", {})), Error);
  EXPECT_THROW(writer.add_run(make_run("b/c", "bad id", {})), Error);
  writer.add_run(make_run("b", "b", {}));  // validation errors happen before any write
  writer.commit();
  const ResultsFile loaded = read_results_hdf5(path);
  ASSERT_EQ(loaded.runs.size(), 2u);
  EXPECT_EQ(loaded.runs[1].run_id, "b");
}

TEST(ResultsHdf5, RejectsUnusableRunIdsAndReservedMetadata) {
  TempDir dir;
  const std::string path = dir.file("results.h5");
  for (const std::string bad : {"", ".", "a/b"}) {
    expect_error_containing([&] { write_results_hdf5(path, {make_run(bad, "bad", {})}, {}); },
                            {path, "run_id"});
  }
  expect_error_containing([&] { write_results_hdf5(path, {}, {{"schema_version", "2"}}); },
                          {path, "schema_version"});
  EXPECT_TRUE(dir.entries().empty());
}

// ---- Reader errors ------------------------------------------------------------------------------

TEST(ResultsHdf5, MissingFileIsAnErrorNamingIt) {
  TempDir dir;
  const std::string path = dir.file("nowhere.h5");
  expect_error_containing([&] { read_results_hdf5(path); }, {path, "not found"});
}

TEST(ResultsHdf5, DamagedFileIsAnErrorNamingIt) {
  TempDir dir;
  const std::string garbage = dir.file("garbage.h5");
  write_bytes(garbage, "this is not HDF5\n");
  expect_error_containing([&] { read_results_hdf5(garbage); }, {garbage, "not an HDF5 file"});

  const std::string truncated = dir.file("truncated.h5");
  write_results_hdf5(truncated, rich_runs(), rich_metadata());
  const std::string bytes = read_bytes(truncated);
  write_bytes(truncated, bytes.substr(0, bytes.size() / 2));
  expect_error_containing([&] { read_results_hdf5(truncated); }, {truncated});
}

// Rewrites the root's schema_version attribute of an existing file (or removes it when value < 0).
void set_schema_version(const std::string& path, int64_t value) {
  h5::QuietErrors quiet;
  h5::Handle file(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
  ASSERT_GE(file.get(), 0);
  ASSERT_GE(H5Adelete(file.get(), "schema_version"), 0);
  if (value >= 0) h5::write_attribute(h5::Location{path, file.get(), "/"}, "schema_version", value);
}

TEST(ResultsHdf5, SchemaVersionMismatchIsAClearError) {
  TempDir dir;
  const std::string path = dir.file("future.h5");
  write_results_hdf5(path, rich_runs(), {});
  set_schema_version(path, 3);
  expect_error_containing([&] { read_results_hdf5(path); }, {path, "schema_version 3", "reads schema_version 1 to 2"});
  set_schema_version(path, 0);
  expect_error_containing([&] { read_results_hdf5(path); }, {path, "schema_version 0"});

  const std::string foreign = dir.file("foreign.h5");
  write_results_hdf5(foreign, {}, {});
  set_schema_version(foreign, -1);
  expect_error_containing([&] { read_results_hdf5(foreign); }, {foreign, "not a stepwise results file"});
}

// A schema version 1 file: the same layout without the ttft_s datasets and run attributes.
TEST(ResultsHdf5, ReadsSchemaVersionOneWithZeroTtft) {
  TempDir dir;
  const std::string path = dir.file("v1.h5");
  const std::vector<RunRecord> runs = rich_runs();
  write_results_hdf5(path, runs, {});
  {
    h5::QuietErrors quiet;
    h5::Handle file(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
    ASSERT_GE(file.get(), 0);
    for (const auto& run : runs) {
      const std::string group = "/runs/" + run.run_id;
      ASSERT_GE(H5Ldelete(file.get(), (group + "/ttft_s").c_str(), H5P_DEFAULT), 0) << group;
      ASSERT_GE(H5Adelete_by_name(file.get(), group.c_str(), "ttft_mean_s", H5P_DEFAULT), 0) << group;
      ASSERT_GE(H5Adelete_by_name(file.get(), group.c_str(), "ttft_p90_s", H5P_DEFAULT), 0) << group;
    }
  }
  set_schema_version(path, 1);
  const ResultsFile loaded = read_results_hdf5(path);
  EXPECT_EQ(loaded.schema_version, 1);
  std::vector<RunRecord> expected = runs;
  for (auto& run : expected)
    for (auto& example : run.examples) example.ttft_s = 0.0;
  expect_same_runs(loaded.runs, expected);

  // In a version 2 file the dataset is required: its absence is damage, named.
  const std::string damaged = dir.file("v2.h5");
  write_results_hdf5(damaged, {make_run("r", "r", {make_example(0, true, 1, 0.5)})}, {});
  {
    h5::QuietErrors quiet;
    h5::Handle file(H5Fopen(damaged.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
    ASSERT_GE(H5Ldelete(file.get(), "/runs/r/ttft_s", H5P_DEFAULT), 0);
  }
  expect_error_containing([&] { read_results_hdf5(damaged); }, {damaged, "ttft_s"});
}

TEST(ResultsHdf5, RunAttributesAndSummaryHoldTtft) {
  TempDir dir;
  const std::string path = dir.file("results.h5");
  RunRecord run = make_run("r", "r", {});
  for (int i = 0; i < 10; ++i) run.examples.push_back(make_example(i, true, 1, 0.5 * (10 - i)));  // ttft 10, 9, .., 1
  write_results_hdf5(path, {run}, {});
  h5::QuietErrors quiet;
  h5::Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  ASSERT_GE(file.get(), 0);
  h5::Handle group(H5Gopen2(file.get(), "/runs/r", H5P_DEFAULT));
  const h5::Location at{path, group.get(), "/runs/r"};
  EXPECT_DOUBLE_EQ(h5::read_double_attribute(at, "ttft_mean_s"), 5.5);
  EXPECT_DOUBLE_EQ(h5::read_double_attribute(at, "ttft_p90_s"), 9.0);
  h5::Handle summary(H5Gopen2(file.get(), "/summary", H5P_DEFAULT));
  const h5::Location summary_at{path, summary.get(), "/summary"};
  EXPECT_EQ(h5::read_double_dataset(summary_at, "ttft_mean_s"), std::vector<double>{5.5});
  EXPECT_EQ(h5::read_double_dataset(summary_at, "ttft_p90_s"), std::vector<double>{9.0});
}

TEST(RunRecord, TtftSummaryIsMeanAndNearestRankP90) {
  RunRecord run = make_run("r", "r", {});
  EXPECT_EQ(run.ttft_summary().mean_s, 0.0);
  EXPECT_EQ(run.ttft_summary().p90_s, 0.0);
  for (double ttft : {0.4, 0.1, 0.3, 0.2}) {
    ExampleRecord example = make_example(0, true, 1, 0.0);
    example.ttft_s = ttft;
    run.examples.push_back(example);
  }
  EXPECT_DOUBLE_EQ(run.ttft_summary().mean_s, 0.25);
  EXPECT_DOUBLE_EQ(run.ttft_summary().p90_s, 0.4);  // rank ceil(0.9 * 4) = 4
}

// ---- CSV, JSONL, table --------------------------------------------------------------------------

TEST(ResultsCsv, QuotesFieldsThatNeedIt) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field(""), "");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(csv_field("cr\rhere"), "\"cr\rhere\"");
  EXPECT_EQ(csv_field(" padded"), "\" padded\"");
  EXPECT_EQ(csv_field("数独"), "数独");
}

TEST(ResultsCsv, OneRowPerRunWithTheUnionOfSettings) {
  RunRecord first = make_run("r1", "diffusion, steps=8", {make_example(0, true, 8, 0.5), make_example(1, false, 8, 0.5)});
  RunRecord second = make_run("r2", "say \"hi\"", {make_example(0, true, 33, 0.25)});
  second.decoder_type = "ar";
  second.settings = {{"model", "x"}, {"temperature", "0.7"}};
  second.examples[0].generated_tokens = 5;
  const std::string expected =
      "run_id,name,decoder_type,model,task,metric,alg,settings.model,steps,temperature,n,accuracy,mean_nfe,"
      "tokens_per_s,wall_s,ttft_mean_s,ttft_p90_s\n"
      "r1,\"diffusion, steps=8\",diffusion,tiny,sudoku4x4,sudoku_valid,origin,,8,,2,0.5,8,8,1,1,1\n"
      "r2,\"say \"\"hi\"\"\",ar,tiny,sudoku4x4,sudoku_valid,,x,,0.7,1,1,33,20,0.25,0.5,0.5\n";
  EXPECT_EQ(format_summary_csv({first, second}), expected);
}

TEST(ResultsJsonl, OneObjectPerExamplePerRun) {
  RunRecord first = make_run("r1", "first", {make_example(3, true, 8, 0.5), make_example(9, false, 7, 0.25)});
  first.examples[1].prediction = "数独 \"x\"\nnext";
  RunRecord second = make_run("r2", "second", {make_example(4, true, 2, 1.5)});
  second.examples[0].prediction = "bad \xFF byte";
  std::istringstream lines(format_predictions_jsonl({first, second}));
  std::vector<nlohmann::json> objects;
  for (std::string line; std::getline(lines, line);) objects.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(objects.size(), 3u);
  EXPECT_EQ(objects[1]["run_id"], "r1");
  EXPECT_EQ(objects[1]["name"], "first");
  EXPECT_EQ(objects[1]["index"], 9);
  EXPECT_EQ(objects[1]["prediction"], "数独 \"x\"\nnext");
  EXPECT_EQ(objects[1]["reference"], "reference 9");
  EXPECT_EQ(objects[1]["correct"], false);
  EXPECT_EQ(objects[1]["nfe"], 7);
  EXPECT_EQ(objects[1]["wall_s"], 0.25);
  EXPECT_EQ(objects[1]["ttft_s"], 0.5);
  EXPECT_EQ(objects[2]["run_id"], "r2");
  EXPECT_EQ(objects[2]["prediction"], "bad \xEF\xBF\xBD byte");
  std::vector<std::string> keys;
  const auto ordered = nlohmann::ordered_json::parse(format_predictions_jsonl({second}));
  for (const auto& item : ordered.items()) {
    keys.push_back(item.key());
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"run_id", "name", "index", "prediction", "reference", "correct", "nfe",
                                            "wall_s", "ttft_s"}));
}

TEST(SummaryTable, FixedWidthColumns) {
  RunRecord first = make_run("r1", "diffusion steps=8", {make_example(0, true, 8, 0.5), make_example(1, false, 8, 0.5)});
  RunRecord second = make_run("r2", "ar ✓ naïve", {make_example(0, true, 33, 0.25)});
  RunRecord third = make_run("r3", std::string(60, 'x'), {make_example(0, true, 2, 150.0)});
  const std::string table = format_summary_table({first, second, third});
  std::istringstream in(table);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].rfind("name ", 0), 0u);
  for (const char* column : {"accuracy", "NFE", "tokens/s", "wall", "TTFT mean", "TTFT p90"}) {
    EXPECT_NE(lines[0].find(column), std::string::npos) << column;
  }
  // Every line has the same width in code points (the second row has multi-byte characters).
  auto width = [](const std::string& text) {
    return std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
  };
  for (const auto& line : lines) EXPECT_EQ(width(line), width(lines[0])) << line;
  // The last six fields of a row: accuracy, NFE, tokens/s, wall, TTFT mean, TTFT p90 (ms below a second).
  auto tail = [](const std::string& line) {
    std::istringstream fields(line);
    std::vector<std::string> all;
    for (std::string field; fields >> field;) all.push_back(field);
    return std::vector<std::string>(all.end() - 6, all.end());
  };
  // 8 tokens in 1 s; ttft 1 s
  EXPECT_EQ(tail(lines[1]), (std::vector<std::string>{"50.0%", "8.0", "8.0", "1.00s", "1.00s", "1.00s"}));
  // 4 tokens in 0.25 s; ttft 0.5 s
  EXPECT_EQ(tail(lines[2]), (std::vector<std::string>{"100.0%", "33.0", "16.0", "0.25s", "500.0ms", "500.0ms"}));
  EXPECT_EQ(tail(lines[3]), (std::vector<std::string>{"100.0%", "2.0", "0.0", "2m30s", "5m00s", "5m00s"}));
  EXPECT_EQ(lines[2].rfind("ar ✓ naïve ", 0), 0u) << lines[2];
  EXPECT_NE(lines[3].find(std::string(kMaxNameWidth - 3, 'x') + "..."), std::string::npos) << lines[3];
  EXPECT_EQ(lines[3].find(std::string(kMaxNameWidth - 2, 'x')), std::string::npos) << lines[3];
}

}  // namespace
}  // namespace stepwise::runner
