// Small Status helpers that Debian's Abseil (20220623) lacks, and WL_CHECK,
// the always-on assertion used in ledger/ and projections/: continuing with a
// broken ledger is worse than stopping. Assertions catch our bugs; they never
// validate input.
#pragma once

#include <cstdio>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define WL_CONCAT_INNER(a, b) a##b
#define WL_CONCAT(a, b) WL_CONCAT_INNER(a, b)

#define WL_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::absl::Status wl_status_ = (expr);      \
    if (!wl_status_.ok()) return wl_status_; \
  } while (0)

#define WL_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(*tmp)

#define WL_ASSIGN_OR_RETURN(lhs, expr) \
  WL_ASSIGN_OR_RETURN_IMPL(WL_CONCAT(wl_statusor_, __LINE__), lhs, expr)

#define WL_CHECK(cond)                                                                   \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "WL_CHECK failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)
