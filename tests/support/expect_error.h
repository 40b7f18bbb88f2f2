// expect_error(action, parts): runs `action` and expects a stepwise::Error whose one-line message
// contains every one of `parts` (a gtest failure otherwise, naming what is missing).
// error_of(action): the message of the stepwise::Error `action` throws, for exact comparisons.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"

namespace stepwise::testing {

template <typename Action>
void expect_error(Action action, const std::vector<std::string>& parts) {
  try {
    action();
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    const std::string message = e.what();
    for (const auto& part : parts) EXPECT_NE(message.find(part), std::string::npos) << message << " lacks " << part;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "multi-line message: " << message;
  }
}

// The message of the stepwise::Error that `action` throws; "" and a gtest failure when it throws none.
template <typename Action>
std::string error_of(Action action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error thrown";
  return "";
}

}  // namespace stepwise::testing
