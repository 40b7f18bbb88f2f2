// Which decoders batch continuously, and with which running batch.
#include "decoders/running_batch.h"

#include <memory>

#include "decoders/ar_decoder.h"
#include "decoders/ar_running_batch.h"
#include "decoders/speculative_decoder.h"
#include "decoders/speculative_running_batch.h"

namespace stepwise {

std::unique_ptr<RunningBatch> start_running_batch(const Decoder& decoder) {
  if (const auto* ar = dynamic_cast<const ArDecoder*>(&decoder); ar != nullptr && ar->config().use_cache)
    return std::make_unique<ArRunningBatch>(*ar);
  if (const auto* speculative = dynamic_cast<const SpeculativeDecoder*>(&decoder))
    return std::make_unique<SpeculativeRunningBatch>(*speculative);
  return nullptr;
}

}  // namespace stepwise
