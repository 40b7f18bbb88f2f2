// The diffusion flags of `stepwise generate` (experiments/cli/decoder_flags.cpp): flags map onto the
// decoder settings (checked by reproducing fixture reference runs from flags alone), --gen-len is
// --max-new-tokens, --trace carries history and commit steps into the stats, and flags that do not
// apply to the chosen decoder are errors; block diffusion and diffusion drafts are built from flags.
#include <gtest/gtest.h>

#include <iostream>
#include <string>
#include <vector>

#include "core/error.h"
#include "decoders/ar_decoder.h"
#include "experiments/cli/decoder_flags.h"
#include "models/checkpoint.h"
#include "tests/support/fixture_utils.h"

namespace stepwise {
namespace {

using testing::fixture_expected;
using testing::fixture_model;
using testing::json_ids;

std::unique_ptr<Decoder> from_flags(const std::vector<std::string>& args, std::shared_ptr<const Transformer> model) {
  ArgParser parser("test", "decoder flags");
  parser.add_option("max-new-tokens", "N", "generation length");
  cli::add_decoder_flags(parser);
  EXPECT_TRUE(parser.parse(args));
  return cli::make_cli_decoder(cli::decoder_spec_from_flags(parser, std::cerr), parser, std::move(model));
}

DecodeResult decode_prompt(Decoder& decoder, const std::vector<int64_t>& prompt) {
  DecodeRequest request;
  request.prompts = {prompt};
  request.max_new_tokens = 1;  // overridden by --gen-len
  return decoder.decode(request);
}

TEST(DiffusionFlags, DreamFlagsReproduceTheReferenceRun) {
  auto model = load_checkpoint(fixture_model("dream-tiny"));
  const nlohmann::json expected = fixture_expected("dream-tiny");
  const nlohmann::json& c = expected["diffusion_cases"][0];  // entropy, 16 steps, 16 tokens, with history
  auto decoder =
      from_flags({"--decoder", "dream", "--alg", "entropy", "--steps", "16", "--gen-len", "16", "--trace"}, model);
  const DecodeResult result = decode_prompt(*decoder, json_ids(expected["prompt"]));
  EXPECT_EQ(result.tokens[0], json_ids(c["expected"]));
  ASSERT_TRUE(result.stats.details.contains("history"));
  EXPECT_EQ(result.stats.details["history"].size(), c["history"].size());
  EXPECT_EQ(result.stats.details["commit_step"][0].size(), 16u);
}

TEST(DiffusionFlags, LladaFlagsReproduceTheReferenceRun) {
  auto model = load_checkpoint(fixture_model("llama-bidir-tiny"));
  const nlohmann::json expected = fixture_expected("llama-bidir-tiny");
  const nlohmann::json& c = expected["diffusion_cases"][0];  // 8 steps, 16 tokens, blocks of 8
  auto decoder = from_flags(
      {"--decoder", "llada", "--steps", "8", "--gen-len", "16", "--block-length", "8", "--remasking", "low_confidence"},
      model);
  const DecodeResult result = decode_prompt(*decoder, json_ids(expected["prompt"]));
  EXPECT_EQ(result.tokens[0], json_ids(c["expected"]));
  EXPECT_FALSE(result.stats.details.contains("history"));
}

TEST(DiffusionFlags, FastDllmFixedSpansAndRemask) {
  auto model = load_checkpoint(fixture_model("llama-bidir-tiny"));
  const std::vector<int64_t> prompt = json_ids(fixture_expected("llama-bidir-tiny")["prompt"]);
  auto fast = from_flags({"--decoder", "llada", "--gen-len", "16", "--block-length", "8", "--threshold", "0.9",
                          "--cache", "dual", "--fixed", "0:7,15:9"},
                         model);
  const DecodeResult result = decode_prompt(*fast, prompt);
  EXPECT_EQ(result.tokens[0].front(), 7);
  EXPECT_EQ(result.tokens[0].back(), 9);
  EXPECT_EQ(result.stats.details["cache"], "dual");
  auto remask =
      from_flags({"--decoder", "remask", "--steps", "4", "--max-new-tokens", "12", "--remask", "cosine"}, model);
  EXPECT_EQ(remask->describe(), "remasking cosine steps=4");
}

TEST(DiffusionFlags, BlockDiffusionAndDiffusionDraftsFromFlags) {
  // Blocks of one token with one step each: AR greedy under the shift (tests/decoders/test_block_diffusion.cpp).
  auto dream = load_checkpoint(fixture_model("dream-tiny"));
  const std::vector<int64_t> prompt = json_ids(fixture_expected("dream-tiny")["prompt"]);
  ArConfig ar;
  ar.stop_on_eos = false;
  DecodeRequest request;
  request.prompts = {prompt};
  request.max_new_tokens = 8;
  const std::vector<int64_t> greedy = ArDecoder(dream, ar).decode(request).tokens[0];
  auto blocks = from_flags({"--decoder", "block_diffusion", "--block-length", "1", "--steps-per-block", "1",
                            "--gen-length", "8", "--trace"},
                           dream);
  const DecodeResult result = decode_prompt(*blocks, prompt);
  EXPECT_EQ(result.tokens[0], greedy);
  EXPECT_EQ(result.stats.details["decoder"], "block_diffusion");
  EXPECT_TRUE(result.stats.details.contains("history"));
  // A diffusion model directory as the draft: recognised from its config, greedy output = the target's.
  auto target = load_checkpoint(fixture_model("qwen2-tiny"));
  const nlohmann::json expected = fixture_expected("qwen2-tiny");
  const std::vector<int64_t> target_greedy = json_ids(expected["greedy"]["expected"]);
  auto speculative = from_flags({"--decoder", "speculative", "--draft-model", fixture_model("dream-tiny"),
                                 "--draft-steps", "2", "--no-stop-on-eos", "--gen-length",
                                 std::to_string(target_greedy.size())},
                                target);
  const DecodeResult verified = decode_prompt(*speculative, json_ids(expected["prompt"]));
  EXPECT_EQ(verified.tokens[0], target_greedy);
  EXPECT_NE(verified.stats.details["draft"].get<std::string>().find("diffusion draft"), std::string::npos);
}

TEST(DiffusionFlags, InapplicableOrBadFlagsAreErrors) {
  auto model = load_checkpoint(fixture_model("dream-tiny"));
  auto expect_error = [&](const std::vector<std::string>& args, const std::string& fragment) {
    try {
      from_flags(args, model);
      ADD_FAILURE() << "accepted: " << fragment;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expect_error({"--decoder", "dream", "--alg", "entropy"}, "--steps");
  expect_error({"--decoder", "dream", "--steps", "4", "--remasking", "random"}, "--remasking does not apply");
  expect_error({"--decoder", "llada", "--steps", "4", "--alg", "entropy"}, "--alg does not apply");
  expect_error({"--decoder", "dream", "--steps", "4", "--remask", "linear"}, "--remask does not apply");
  expect_error({"--decoder", "remask", "--steps", "4", "--threshold", "0.9"}, "--threshold does not apply");
  expect_error({"--decoder", "dream", "--steps", "4", "--fixed", "3-5"}, "POS:ID");
  expect_error({"--decoder", "dream", "--steps", "4", "--gen-len", "8", "--max-new-tokens", "9"}, "disagree");
  expect_error({"--decoder", "dream", "--steps", "4", "--cache", "full"}, "cache mode");
  expect_error({"--decoder", "mdm", "--steps", "4"}, "unknown decoder 'mdm'");
}

}  // namespace
}  // namespace stepwise
