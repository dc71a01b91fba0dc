// Reading a projection's rows back from the ledger's "state" family at open:
// every row whose key starts with `prefix`, in key order. A row `visit`
// cannot decode is kDataLoss naming its key.
#pragma once

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ledger/event_store.h"

namespace wattledger::projections {

// visit(absl::string_view id, absl::string_view value) -> absl::Status, with
// `id` the key after the prefix.
template <typename Visit>
absl::Status ScanStateRows(const ledger::EventStore& store, absl::string_view prefix, Visit visit) {
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(rocksdb::ReadOptions(), store.family(ledger::EventStore::kState)));
  for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size()));
       it->Valid() && absl::StartsWith(ledger::View(it->key()), prefix); it->Next()) {
    absl::string_view key = ledger::View(it->key());
    absl::Status status = visit(key.substr(prefix.size()), ledger::View(it->value()));
    if (!status.ok()) {
      return absl::DataLossError(absl::StrCat("state row ", key, ": ", status.message()));
    }
  }
  return ledger::FromRocks(it->status(), absl::StrCat("reading state rows ", prefix));
}

}  // namespace wattledger::projections
