// pathstar_exact: the predicted path ("S,n1,...,G", decimal labels joined by commas, nothing else)
// equals the record's path. Anything malformed (spaces, empty items, signs, leading zeros, [MASK],
// a partial path) is incorrect, never an exception; a malformed reference path is a data error.
#pragma once

#include <string>

namespace stepwise::tasks {

bool pathstar_exact_correct(const std::string& path, const std::string& prediction);

}  // namespace stepwise::tasks
