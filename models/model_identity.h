// A model's identity for caches that must never mix models: a 128-bit content hash of its
// architecture (config.json form) and every weight's name, shape, dtype and bytes. Two loads of the
// same checkpoint in the same dtype agree; any changed weight, config field or dtype gives another
// identity. Hashing reads every weight once (about 0.1 s per GB).
#pragma once

#include <string>

namespace stepwise {

class Transformer;

// 32 hex digits.
std::string model_identity(const Transformer& model);

}  // namespace stepwise
