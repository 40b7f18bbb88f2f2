// Names and the version of the HDF5 results schema, shared by the writer and the reader so the two
// cannot drift apart. docs/results_format.md describes the layout; bump kResultsSchemaVersion whenever
// a name, a type or the meaning of a field changes.
#pragma once

#include <cstdint>

namespace stepwise::runner::schema {

// Version 2 added ttft_s (per example) and ttft_mean_s, ttft_p90_s (per run). The reader also reads
// version 1 files, whose ttft figures read as 0.
inline constexpr int64_t kResultsSchemaVersion = 2;
inline constexpr int64_t kOldestReadableSchemaVersion = 1;

// Root attribute holding kResultsSchemaVersion (integer); every other root attribute is metadata text.
inline constexpr char kSchemaVersion[] = "schema_version";

inline constexpr char kRunsGroup[] = "runs";        // /runs/<run_id>, in creation order
inline constexpr char kSummaryGroup[] = "summary";  // one row per run, one dataset per column
inline constexpr char kSettingsGroup[] = "settings";

// Text attributes of a run group and text columns of /summary.
inline constexpr char kRunId[] = "run_id";
inline constexpr char kName[] = "name";
inline constexpr char kDecoderType[] = "decoder_type";
inline constexpr char kModel[] = "model";
inline constexpr char kTask[] = "task";
inline constexpr char kMetric[] = "metric";
// Numeric attributes of a run group and numeric columns of /summary.
inline constexpr char kExampleCount[] = "n";  // int64
inline constexpr char kAccuracy[] = "accuracy";
inline constexpr char kMeanNfe[] = "mean_nfe";
inline constexpr char kTokensPerSecond[] = "tokens_per_s";
inline constexpr char kWallSeconds[] = "wall_s";  // run total (sum of the examples' shares)
inline constexpr char kTtftMean[] = "ttft_mean_s";  // mean of the examples' ttft_s
inline constexpr char kTtftP90[] = "ttft_p90_s";    // 90th percentile (nearest rank) of ttft_s

// Per-example datasets of a run group, all of length n.
inline constexpr char kIndex[] = "index";                        // int64
inline constexpr char kCorrect[] = "correct";                    // uint8, 0 or 1
inline constexpr char kForwardCalls[] = "forward_calls";         // int64, NFE
inline constexpr char kGeneratedTokens[] = "generated_tokens";  // int64
inline constexpr char kExampleWall[] = "wall_s";                 // float64
inline constexpr char kFirstToken[] = "first_token_s";           // float64
inline constexpr char kTtft[] = "ttft_s";                        // float64 (schema 2; absent in 1)
inline constexpr char kPrediction[] = "prediction";              // UTF-8 strings
inline constexpr char kReference[] = "reference";
inline constexpr char kPrompt[] = "prompt";
// Ragged per-example traces, present only when some example has one: example i owns
// commit_step[commit_step_offsets[i] : commit_step_offsets[i + 1]] (offsets has n + 1 entries).
inline constexpr char kCommitStep[] = "commit_step";
inline constexpr char kCommitStepOffsets[] = "commit_step_offsets";

}  // namespace stepwise::runner::schema
