// Reading a command's named text arguments: the one place their "missing"
// and "not a number" errors are worded.
#pragma once

#include <limits>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace wattledger::commands {

using Args = std::map<std::string, std::string>;

inline std::string Arg(const Args& args, const std::string& name) {
  auto it = args.find(name);
  return it == args.end() ? std::string() : it->second;
}

inline absl::StatusOr<std::string> Required(const Args& args, const std::string& name) {
  std::string value = Arg(args, name);
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat("needs ", name));
  return value;
}

// The argument as a whole number of type T in [min, max]; `fallback` when absent.
template <typename T>
absl::StatusOr<T> Number(const Args& args, const std::string& name, T fallback,
                         T min = std::numeric_limits<T>::min(),
                         T max = std::numeric_limits<T>::max()) {
  std::string text = Arg(args, name);
  if (text.empty()) return fallback;
  T value{};
  if (!absl::SimpleAtoi(text, &value)) {
    return absl::InvalidArgumentError(absl::StrCat(name, " '", text, "' is not a whole number"));
  }
  if (value < min || value > max) {
    return absl::InvalidArgumentError(absl::StrCat(name, " must be ", min, " to ", max));
  }
  return value;
}

}  // namespace wattledger::commands
