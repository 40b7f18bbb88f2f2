// Command-line flags of the diffusion decoders for `stepwise generate`: --decoder dream | llada |
// remask with their settings, turned into a DiffusionConfig / RemaskingConfig. --gen-len is the same
// as --max-new-tokens, and --trace puts the per-step history and commit steps into the JSON stats.
// Flags that do not apply to the chosen decoder are errors, never silently ignored.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "decoders/diffusion/diffusion_decoder.h"
#include "decoders/diffusion/remasking_decoder.h"
#include "experiments/cli/decoder_flags.h"

namespace stepwise::cli {
namespace {

// Applies --gen-len and --trace to each request and copies the trace into stats.details, so the
// generate command's JSON carries it whatever it prints of the result.
class CliDiffusionDecoder : public Decoder {
 public:
  CliDiffusionDecoder(std::unique_ptr<Decoder> inner, std::optional<int64_t> gen_len, bool trace)
      : inner_(std::move(inner)), gen_len_(gen_len), trace_(trace) {}

  DecodeResult decode(const DecodeRequest& request) override {
    DecodeRequest adjusted = request;
    if (gen_len_) adjusted.max_new_tokens = *gen_len_;
    adjusted.record_trace = request.record_trace || trace_;
    DecodeResult result = inner_->decode(adjusted);
    if (trace_) {
      result.stats.details["commit_step"] = result.commit_step;
      result.stats.details["history"] = result.history;
    }
    return result;
  }
  std::string describe() const override { return inner_->describe(); }

 private:
  std::unique_ptr<Decoder> inner_;
  std::optional<int64_t> gen_len_;
  bool trace_;
};

// "POS:ID,POS:ID" -> fixed tokens.
std::vector<FixedToken> parse_fixed(const std::string& text) {
  std::vector<FixedToken> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) {
      const size_t colon = item.find(':');
      check(colon != std::string::npos, "--fixed: expected POS:ID entries separated by commas, got '", item, "'");
      out.push_back(
          {parse_int(item.substr(0, colon), "--fixed position"), parse_int(item.substr(colon + 1), "--fixed token")});
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  check(!out.empty(), "--fixed: no POS:ID entries in '", text, "'");
  return out;
}

void reject(const ArgParser& parser, const std::string& kind, std::initializer_list<const char*> flags) {
  for (const char* flag : flags) check(!parser.given(flag), "--", flag, " does not apply to --decoder ", kind);
}

SamplingParams sampling_of(const ArgParser& parser) {
  SamplingParams sampling;
  sampling.temperature = parser.get_double("temperature");
  sampling.top_p = parser.get_double_optional("top-p");
  sampling.top_k = parser.get_int_optional("top-k");
  return sampling;
}

DiffusionConfig diffusion_config_of(const std::string& kind, const ArgParser& parser) {
  DiffusionConfig config;
  const bool is_dream = kind == "dream";
  if (is_dream) {
    reject(parser, kind, {"remasking"});
    config.schedule = Schedule::kDreamTimeGrid;
    config.selection = parse_selection(parser.get_optional("alg").value_or("origin"));
    check(!is_llada_selection(config.selection), "--alg: '", to_string(config.selection),
          "' is a LLaDA rule; use --decoder llada --remasking ", to_string(config.selection));
  } else {
    reject(parser, kind, {"alg"});
    config.schedule = Schedule::kLladaEvenSplit;
    config.selection = parse_selection(parser.get_optional("remasking").value_or("low_confidence"));
    check(is_llada_selection(config.selection), "--remasking: expected low_confidence or random, got '",
          to_string(config.selection), "'");
  }
  if (auto schedule = parser.get_optional("schedule")) config.schedule = parse_schedule(*schedule);
  config.threshold = parser.get_double_optional("threshold");
  if (config.threshold) {
    if (auto steps = parser.get_int_optional("steps")) config.steps = *steps;
  } else {
    config.steps = parser.get_int("steps");
  }
  config.eps = parser.get_double("eps");
  config.block_length = parser.get_int_optional("block-length");
  config.alg_temp = parser.get_double_optional("alg-temp");
  config.cfg_scale = parser.get_double_optional("cfg-scale");
  config.cache = parse_cache_mode(parser.get("cache"));
  config.sampling = sampling_of(parser);
  if (parser.given("fixed")) config.fixed = parse_fixed(parser.get("fixed"));
  return config;
}

RemaskingConfig remasking_config_of(const ArgParser& parser) {
  reject(parser, "remask",
         {"alg", "remasking", "schedule", "threshold", "block-length", "alg-temp", "cfg-scale", "top-p", "top-k"});
  check(!parser.given("cache") || parser.get("cache") == "none", "--cache does not apply to --decoder remask");
  check(parser.get_double("temperature") == 0.0, "--decoder remask re-predicts by argmax; --temperature must be 0");
  RemaskingConfig config;
  config.steps = parser.get_int("steps");
  config.schedule = parse_remask_schedule(parser.get_optional("remask").value_or("linear"));
  config.noise_scale = parser.get_double_optional("remask-noise");
  if (parser.given("fixed")) config.fixed = parse_fixed(parser.get("fixed"));
  return config;
}

}  // namespace

void add_diffusion_flags(ArgParser& parser) {
  parser.add_option("steps", "N", "diffusion: forward passes of the schedule (split evenly over blocks)");
  parser.add_option("gen-len", "N", "diffusion: generation length (same as --max-new-tokens)");
  parser.add_option("alg", "ALG", "dream: origin | maskgit_plus | topk_margin | entropy (default origin)");
  parser.add_option("remasking", "RULE", "llada: low_confidence | random (default low_confidence)");
  parser.add_option("schedule", "NAME",
                    "diffusion: dream_time_grid | llada_even_split | cosine (default: the decoder's own)");
  parser.add_option("eps", "E", "dream: end of the time grid linspace(1, eps, steps + 1)", "0.001");
  parser.add_option("alg-temp", "T", "diffusion: sample positions from softmax(confidence / T) instead of top-k");
  // Token sampling, shared with the autoregressive decoders (registered here once).
  parser.add_option("temperature", "T", "token sampling temperature (0 = greedy)", "0");
  parser.add_option("top-p", "P", "token sampling: keep the smallest set reaching probability P (not llada)");
  parser.add_option("top-k", "K", "token sampling: keep the K most likely tokens (not llada)");
  parser.add_option("block-length", "N", "diffusion: semi-autoregressive block length (divides --gen-len)");
  parser.add_option("cfg-scale", "S", "diffusion: classifier-free guidance un + (S + 1)(cond - un); 2 NFE per step");
  parser.add_option("threshold", "TAU",
                    "diffusion: Fast-dLLM parallel decoding, commit every block position with confidence >= TAU");
  parser.add_option("cache", "MODE", "diffusion: Fast-dLLM KV cache none | prefix | dual", "none");
  parser.add_option("remask", "SCHEDULE", "remask: linear | cosine share of positions re-masked (default linear)");
  parser.add_option("remask-noise", "F", "remask: Gumbel noise on the scores scaled by F * rate (stochastic)");
  parser.add_option("fixed", "POS:ID,...", "diffusion: pre-filled generation positions (infilling), never changed");
  parser.add_switch("trace", "diffusion: per-step history and commit steps in the JSON stats");
}

std::unique_ptr<Decoder> make_diffusion_decoder(const std::string& kind, const ArgParser& parser,
                                                std::shared_ptr<const Transformer> model) {
  std::optional<int64_t> gen_len = parser.get_int_optional("gen-len");
  if (gen_len && parser.given("max-new-tokens"))
    check(parser.get_int("max-new-tokens") == *gen_len, "--gen-len ", *gen_len, " and --max-new-tokens ",
          parser.get_int("max-new-tokens"), " disagree (they are the same setting)");
  const bool trace = parser.get_switch("trace");
  std::unique_ptr<Decoder> inner;
  if (kind == "dream" || kind == "llada") {
    reject(parser, kind, {"remask", "remask-noise"});
    inner = std::make_unique<DiffusionDecoder>(std::move(model), diffusion_config_of(kind, parser));
  } else if (kind == "remask") {
    inner = std::make_unique<RemaskingDecoder>(std::move(model), remasking_config_of(parser));
  } else {
    fail("unknown diffusion decoder '", kind, "' (expected dream, llada or remask)");
  }
  return std::make_unique<CliDiffusionDecoder>(std::move(inner), gen_len, trace);
}

}  // namespace stepwise::cli
