#include "projections/reports/report_rows.h"

#include <memory>

#include "absl/strings/escaping.h"
#include "ledger/status_macros.h"
#include "ledger/subscription.h"

namespace wattledger::projections::reports {
namespace {

rocksdb::Slice Slice(absl::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

// The first microsecond of day `day` of a valid range.
int64_t DayStart(const std::string& day) {
  auto start = DayStartOf(day);
  WL_CHECK(start.ok());
  return *start;
}

}  // namespace

std::string WithSeq(absl::string_view prefix, uint64_t seq) {
  std::string key(prefix);
  ledger::PutU64BigEndian(key, seq);
  return key;
}

std::string PrefixEnd(absl::string_view prefix) {
  WL_CHECK(!prefix.empty());
  WL_CHECK(static_cast<uint8_t>(prefix.back()) != 0xff);
  std::string end(prefix);
  end.back() = static_cast<char>(static_cast<uint8_t>(end.back()) + 1);
  return end;
}

KeyRange DayKeys(absl::string_view prefix, const DayRange& range) {
  KeyRange keys{std::string(prefix), PrefixEnd(prefix)};
  if (!range.since.empty()) keys.from = absl::StrCat(prefix, range.since);
  if (!range.until.empty()) keys.to = PrefixEnd(absl::StrCat(prefix, range.until, "/"));
  return keys;
}

KeyRange PeriodKeys(absl::string_view prefix, Period period, const DayRange& range) {
  KeyRange keys{std::string(prefix), PrefixEnd(prefix)};
  if (!range.since.empty()) {
    keys.from = absl::StrCat(prefix, PeriodOf(period, DayStart(range.since)));
  }
  if (!range.until.empty()) {
    keys.to = PrefixEnd(absl::StrCat(prefix, PeriodOf(period, DayStart(range.until)), "/"));
  }
  return keys;
}

absl::Status ScanRows(const ledger::EventStore& store, rocksdb::ColumnFamilyHandle* family,
                      const KeyRange& range, const RowVisitor& each) {
  std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(rocksdb::ReadOptions(), family));
  for (it->Seek(Slice(range.from)); it->Valid() && ledger::View(it->key()) < range.to; it->Next()) {
    WL_RETURN_IF_ERROR(each(ledger::View(it->key()), ledger::View(it->value())));
  }
  return ledger::FromRocks(it->status(), "reading a report");
}

absl::Status ScanPrefix(const ledger::EventStore& store, rocksdb::ColumnFamilyHandle* family,
                        absl::string_view prefix, const RowVisitor& each) {
  return ScanRows(store, family, KeyRange{std::string(prefix), PrefixEnd(prefix)}, each);
}

absl::StatusOr<uint64_t> AppliedThrough(const ledger::EventStore& store, const std::string& name) {
  std::string value;
  rocksdb::Status got =
      store.db()->Get(rocksdb::ReadOptions(), store.family(ledger::ProjectionFamily(name)),
                      Slice(kAppliedThroughKey), &value);
  if (got.IsNotFound()) return 0;
  WL_RETURN_IF_ERROR(ledger::FromRocks(got, "reading a report's applied-through seq"));
  if (value.size() != 8) return absl::DataLossError("applied-through row is not 8 bytes");
  return ledger::GetU64BigEndian(value);
}

}  // namespace wattledger::projections::reports
