#include "ledger/period_ticker.h"

#include "absl/strings/str_cat.h"
#include "ledger/event_format.h"
#include "ledger/structured_log.h"

namespace wattledger::ledger {
namespace {

constexpr absl::string_view kStream = "periods";

// The end of the last period in the log, or 0.
int64_t LastTickedEnd(const EventStore& store) {
  auto version = store.StreamVersion(kStream);
  if (!version.ok() || *version == 0) return 0;
  auto seqs = store.ReadStreamSeqs(kStream, *version, 1);
  if (!seqs.ok() || seqs->empty()) return 0;
  auto bytes = store.GetEvent(seqs->front());
  if (!bytes.ok()) return 0;
  auto envelope = ParsedEnvelope::Parse(*bytes, kEnvelopeBytesMax);
  if (!envelope.ok()) return 0;
  auto body = ParsedBody::Parse(AsView(envelope->get().getBody()), kEventBodyBytesMax);
  if (!body.ok() || !body->get().isPeriodClosed()) return 0;
  return body->get().getPeriodClosed().getPeriodEndUs();
}

std::string TickBody(int64_t end_us, schema::PeriodKind kind, int64_t now_us) {
  capnp::MallocMessageBuilder message;
  auto body = message.initRoot<schema::EventBody>();
  body.setIdempotencyKey(
      absl::StrCat("period/", kind == schema::PeriodKind::DAY ? "day/" : "month/", end_us));
  body.setIssuedAtUs(now_us);
  body.setStream(std::string(kStream));
  auto closed = body.initPeriodClosed();
  closed.setPeriodEndUs(end_us);
  closed.setKind(kind);
  return Canonical(body.asReader());
}

std::string ClockTickBody(int64_t due_us, int64_t now_us) {
  capnp::MallocMessageBuilder message;
  auto body = message.initRoot<schema::EventBody>();
  body.setIdempotencyKey(absl::StrCat("tick/", due_us));
  body.setIssuedAtUs(now_us);
  body.setStream("clock");
  body.initClockTick().setDueUs(due_us);
  return Canonical(body.asReader());
}

}  // namespace

PeriodTicker::PeriodTicker(Ledger& ledger, Calendar calendar, absl::Duration poll_interval)
    : ledger_(ledger), calendar_(std::move(calendar)) {
  last_end_us_ = LastTickedEnd(ledger_.store());
  if (last_end_us_ == 0) last_end_us_ = calendar_.day_start(ledger_.clock().NowMicros());
  thread_ = std::thread([this, poll_interval]() { Run(poll_interval); });
}

PeriodTicker::~PeriodTicker() {
  stop_.Notify();
  thread_.join();
}

absl::StatusOr<int> PeriodTicker::TickDue() {
  int ticks = 0;
  int64_t now = ledger_.clock().NowMicros();
  while (true) {
    int64_t next = calendar_.next_day_start(last_end_us_);
    if (next > now) break;
    // Issued now (a tick missed while wattd was down is still due), named by
    // its period so it can never be appended twice.
    auto day = ledger_.SubmitAsLedger(TickBody(next, schema::PeriodKind::DAY, now)).get();
    if (!day.ok()) return day.status();
    if (calendar_.is_month_start(next)) {
      auto month = ledger_.SubmitAsLedger(TickBody(next, schema::PeriodKind::MONTH, now)).get();
      if (!month.ok()) return month.status();
    }
    LogEvent("info", "period_closed", {{"period_end_us", next}});
    last_end_us_ = next;
    ++ticks;
  }
  int64_t due = calendar_.next_timer_us ? calendar_.next_timer_us() : 0;
  if (due > 0 && due <= now) {
    auto tick = ledger_.SubmitAsLedger(ClockTickBody(due, now)).get();
    if (!tick.ok()) return tick.status();
    ++ticks;
  }
  return ticks;
}

void PeriodTicker::Run(absl::Duration poll_interval) {
  while (!stop_.WaitForNotificationWithTimeout(poll_interval)) {
    auto ticked = TickDue();
    if (!ticked.ok())
      LogEvent("error", "period_tick_failed",
               {{"status", std::string(ticked.status().ToString())}});
  }
}

}  // namespace wattledger::ledger
