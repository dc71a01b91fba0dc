#include "projections/reports/balances.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "ledger/event_format.h"
#include "ledger/limits.h"
#include "ledger/replay.h"
#include "ledger/roles.h"
#include "ledger/status_macros.h"
#include "projections/calendar.h"
#include "projections/campus.h"
#include "projections/reports/periods.h"

namespace wattledger::projections::reports {
namespace {

absl::StatusOr<ledger::ParsedEnvelope> EnvelopeAt(const ledger::EventStore& events, uint64_t seq) {
  WL_ASSIGN_OR_RETURN(std::string bytes, events.GetEvent(seq));
  return ledger::ParsedEnvelope::ParseTrusted(bytes, ledger::kEnvelopeBytesMax);
}

bool IsDerived(ledger::EventKind kind) {
  return kind == ledger::EventKind::DEDUCTIONS_APPLIED ||
         kind == ledger::EventKind::REFUND_SETTLED || kind == ledger::EventKind::EXCHANGE_SETTLED;
}

}  // namespace

absl::StatusOr<uint64_t> ThroughDerived(const ledger::EventStore& events, uint64_t seq) {
  WL_ASSIGN_OR_RETURN(ledger::Head head, events.GetHead());
  if (seq == 0) return seq;
  while (seq < head.seq) {
    WL_ASSIGN_OR_RETURN(ledger::ParsedEnvelope next, EnvelopeAt(events, seq + 1));
    WL_ASSIGN_OR_RETURN(ledger::ParsedBody body,
                        ledger::ParsedBody::ParseTrusted(ledger::AsView(next.get().getBody()),
                                                         ledger::kEventBodyBytesMax));
    if (!IsDerived(body.get().which())) break;
    ++seq;
  }
  return seq;
}

absl::StatusOr<uint64_t> LastSeqBefore(const ledger::EventStore& events, int64_t time_us) {
  WL_ASSIGN_OR_RETURN(ledger::Head head, events.GetHead());
  // Invariant: events 1..low were appended before time_us, high+1.. were not.
  uint64_t low = 0;
  uint64_t high = head.seq;
  while (low < high) {
    uint64_t middle = low + (high - low + 1) / 2;
    WL_ASSIGN_OR_RETURN(ledger::ParsedEnvelope envelope, EnvelopeAt(events, middle));
    if (envelope.get().getAppendedAtUs() < time_us) {
      low = middle;
    } else {
      high = middle - 1;
    }
  }
  return low;
}

absl::StatusOr<Balances> BalancesAtSeq(const ledger::EventStore& events, uint64_t seq,
                                       const std::string& scratch_dir) {
  WL_ASSIGN_OR_RETURN(ledger::Head head, events.GetHead());
  if (seq > head.seq) {
    return absl::InvalidArgumentError(absl::StrCat("seq ", seq, " is past the head, ", head.seq));
  }
  if (std::filesystem::exists(scratch_dir)) {
    return absl::InvalidArgumentError(absl::StrCat("scratch directory ", scratch_dir, " exists"));
  }
  WL_ASSIGN_OR_RETURN(uint64_t through, ThroughDerived(events, seq));
  ledger::StoreOptions options;
  options.create_if_missing = true;
  WL_ASSIGN_OR_RETURN(auto scratch, ledger::EventStore::Open(scratch_dir, options));
  Campus campus;
  ledger::ReplayOptions replay{.mode = ledger::ReplayMode::kStateOnly, .to_seq = through};
  WL_ASSIGN_OR_RETURN(ledger::ReplaySummary summary,
                      ledger::Replay(events, *scratch, {&campus}, replay));
  WL_CHECK(summary.events == through);
  return Balances{through, campus.Rooms()};
}

absl::StatusOr<Balances> BalancesAtDay(const ledger::EventStore& events, const std::string& day,
                                       const std::string& scratch_dir) {
  WL_ASSIGN_OR_RETURN(int64_t day_start_us, DayStartOf(day));
  WL_ASSIGN_OR_RETURN(uint64_t seq, LastSeqBefore(events, day_start_us + kMicrosPerDay));
  return BalancesAtSeq(events, seq, scratch_dir);
}

}  // namespace wattledger::projections::reports
