// What the report projections share about their families: key pieces, row
// encoding (projections/schema/reports.capnp, canonical Cap'n Proto), and
// reading rows back, whole families at Load and key ranges for queries. Key
// grammars are in projections/reports/README.md.
#pragma once

#include <rocksdb/db.h>

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "ledger/event_format.h"
#include "ledger/event_store.h"
#include "projections/reports/periods.h"

namespace wattledger::projections::reports {

// A row is a few small fields; anything bigger is damage.
inline constexpr size_t kRowBytesMax = 64 * 1024;
// The row ledger::CatchUpRunner keeps beside the projection's rows
// (ledger/subscription.cc): the last seq applied, u64 big-endian.
inline constexpr absl::string_view kAppliedThroughKey = "~applied_through";

// `prefix` followed by `seq` as 8 bytes big-endian, so keys sort by seq.
std::string WithSeq(absl::string_view prefix, uint64_t seq);
// The least key after every key that starts with `prefix` (non-empty, and
// not ending in 0xff: report keys are text).
std::string PrefixEnd(absl::string_view prefix);

// Keys `prefix` + day + ... for the days of `range`: [from, to).
struct KeyRange {
  std::string from;
  std::string to;
};
KeyRange DayKeys(absl::string_view prefix, const DayRange& range);
// Keys `prefix` + period + "/" ... for the periods that hold `range`'s days.
// `range` must be valid (Validate).
KeyRange PeriodKeys(absl::string_view prefix, Period period, const DayRange& range);

template <typename T, typename Fill>
std::string EncodeRow(Fill fill) {
  capnp::MallocMessageBuilder message;
  fill(message.initRoot<T>());
  return ledger::Canonical(message.getRoot<T>().asReader());
}

// Parses a stored row; kDataLoss naming `key` when it does not parse.
template <typename T>
absl::StatusOr<ledger::CanonicalMessage<T>> DecodeRow(absl::string_view key,
                                                      absl::string_view bytes) {
  auto parsed = ledger::CanonicalMessage<T>::ParseTrusted(bytes, kRowBytesMax);
  if (!parsed.ok()) {
    return absl::DataLossError(
        absl::StrCat("report row '", absl::CHexEscape(key), "': ", parsed.status().message()));
  }
  return parsed;
}

using RowVisitor = std::function<absl::Status(absl::string_view key, absl::string_view value)>;

// Calls `each` for every row of `family` with range.from <= key < range.to,
// in key order; stops at the first error and returns it.
absl::Status ScanRows(const ledger::EventStore& store, rocksdb::ColumnFamilyHandle* family,
                      const KeyRange& range, const RowVisitor& each);
// Every row whose key starts with `prefix`.
absl::Status ScanPrefix(const ledger::EventStore& store, rocksdb::ColumnFamilyHandle* family,
                        absl::string_view prefix, const RowVisitor& each);

// How far the report `name` has applied the log (0: nothing yet). The store
// must have been opened with its family.
absl::StatusOr<uint64_t> AppliedThrough(const ledger::EventStore& store, const std::string& name);

// capnp text as a std::string.
inline std::string Str(capnp::Text::Reader text) { return std::string(text.cStr(), text.size()); }

}  // namespace wattledger::projections::reports
