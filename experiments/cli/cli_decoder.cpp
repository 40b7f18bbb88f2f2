// `stepwise generate`'s decoder: the spec built by the one factory, with its draft model loaded, plus
// the command line's generation length and trace applied to every request.
#include <memory>
#include <optional>
#include <utility>

#include "experiments/cli/decoder_flags.h"
#include "experiments/runner/decoder_factory.h"
#include "models/checkpoint.h"

namespace stepwise::cli {
namespace {

// Applies gen_length and --trace to each request and copies the trace into stats.details, so the
// generate command's JSON carries it whatever it prints of the result.
class CommandLineDecoder : public Decoder {
 public:
  CommandLineDecoder(std::unique_ptr<Decoder> inner, std::optional<int64_t> gen_length, bool trace)
      : inner_(std::move(inner)), gen_length_(gen_length), trace_(trace) {}

  DecodeResult decode(const DecodeRequest& request) override {
    DecodeRequest adjusted = request;
    if (gen_length_) adjusted.max_new_tokens = *gen_length_;
    adjusted.record_trace = request.record_trace || trace_;
    DecodeResult result = inner_->decode(adjusted);
    if (trace_) {
      result.stats.details["commit_step"] = result.commit_step;
      result.stats.details["history"] = result.history;
    }
    return result;
  }
  std::string describe() const override { return inner_->describe(); }
  int64_t prefill_tokens(const std::vector<int64_t>& prompt) const override { return inner_->prefill_tokens(prompt); }

 private:
  std::unique_ptr<Decoder> inner_;
  std::optional<int64_t> gen_length_;
  bool trace_;
};

}  // namespace

std::unique_ptr<Decoder> make_cli_decoder(const runner::DecoderSpec& spec, const ArgParser& parser,
                                          std::shared_ptr<const Transformer> model,
                                          std::shared_ptr<PrefixReuse> reuse) {
  runner::ModelTable models{{kCliModel, model}};
  for (const std::string& name : spec.model_names())
    if (!models.count(name))  // a draft model, named by its directory; it runs in the target's dtype and on its device
      models[name] = load_checkpoint(name, LoadOptions{model->dtype(), model->device()});
  std::unique_ptr<Decoder> decoder = runner::make_decoder(spec, models, std::move(reuse));
  const bool trace = parser.get_switch("trace");
  if (!spec.gen_length && !trace) return decoder;
  return std::make_unique<CommandLineDecoder>(std::move(decoder), spec.gen_length, trace);
}

}  // namespace stepwise::cli
