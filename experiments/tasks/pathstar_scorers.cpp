// The path-star exact-match scorer.
#include "experiments/tasks/pathstar_scorers.h"

#include "core/error.h"
#include "experiments/tasks/pathstar.h"

namespace stepwise::tasks {

bool pathstar_exact_correct(const std::string& path, const std::string& prediction) {
  auto reference = parse_pathstar_path(path);
  check(reference.has_value() && reference->size() >= 2, "malformed path-star path '", path,
        "' (expected at least two decimal labels joined by commas)");
  auto predicted = parse_pathstar_path(prediction);
  return predicted.has_value() && *predicted == *reference;
}

}  // namespace stepwise::tasks
