// wattctl's views of the control policies, from a data directory: why a
// room's power is as it is (`control why`) and the load violations with
// their evidence (`violations`). `control policy` (setting one) lives with
// the other signed control commands in control_command.cc.
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ledger/event_format.h"
#include "ledger/structured_log.h"
#include "projections/campus.h"
#include "projections/control/control_book.h"
#include "projections/control/control_policies.h"
#include "projections/monitoring/device_status.h"
#include "tools/wattctl/commands.h"
#include "tools/wattctl/support.h"

namespace wattledger::wattctl {
namespace {

using ledger::JsonEscape;

std::string ViolationJson(uint64_t seq, schema::ViolationRecorded::Reader v) {
  return absl::StrCat(
      "{\"seq\":", seq, ",\"room\":", JsonEscape(v.getRoomId().cStr()),
      ",\"meter\":", JsonEscape(v.getMeterAddress().cStr()), ",\"circuit\":", v.getCircuit(),
      ",\"kind\":", JsonEscape(projections::ViolationKindName(v.getKind())),
      ",\"at\":", JsonEscape(projections::CampusTimeText(v.getAtUs())),
      ",\"powerBeforeW\":", v.getPowerBeforeW(), ",\"powerAfterW\":", v.getPowerAfterW(),
      ",\"powerFactorMilli\":", v.getPowerFactorMilli(), ",\"currentMa\":", v.getCurrentMa(),
      ",\"limit\":", v.getLimit(), ",\"action\":", JsonEscape(v.getAction().cStr()),
      ",\"recoveryAt\":",
      JsonEscape(v.getRecoveryAtUs() == 0 ? "" : projections::CampusTimeText(v.getRecoveryAtUs())),
      ",\"countInWindow\":", v.getCountInWindow(),
      ",\"lockout\":", v.getLockout() ? "true" : "false", ",\"readingsSeq\":", v.getReadingsSeq(),
      ",\"detail\":", JsonEscape(v.getDetail().cStr()), "}");
}

// Prints each ViolationRecorded among `envelopes`.
absl::Status PrintViolations(const std::vector<std::string>& envelopes) {
  for (const std::string& bytes : envelopes) {
    WL_ASSIGN_OR_RETURN(auto envelope,
                        ledger::ParsedEnvelope::ParseTrusted(bytes, ledger::kEnvelopeBytesMax));
    WL_ASSIGN_OR_RETURN(auto body,
                        ledger::ParsedBody::ParseTrusted(ledger::AsView(envelope.get().getBody()),
                                                         ledger::kEventBodyBytesMax));
    if (!body.get().isViolationRecorded()) continue;
    std::printf("%s\n",
                ViolationJson(envelope.get().getSeq(), body.get().getViolationRecorded()).c_str());
  }
  return absl::OkStatus();
}

// The newest reading of a meter circuit: from the last few batches of its
// gateway's stream (a sweep reads every meter, so it is in one of them).
std::optional<std::string> LatestReadingJson(const ledger::EventStore& store,
                                             const projections::Meter& meter) {
  const std::string stream = absl::StrCat("gateway:", meter.gateway_id);
  auto version = store.StreamVersion(stream);
  if (!version.ok() || *version == 0) return std::nullopt;
  constexpr uint64_t kBatchesBack = 16;
  uint64_t from = *version > kBatchesBack ? *version - kBatchesBack + 1 : 1;
  auto seqs = store.ReadStreamSeqs(stream, from, kBatchesBack);
  if (!seqs.ok()) return std::nullopt;
  for (auto seq = seqs->rbegin(); seq != seqs->rend(); ++seq) {
    auto bytes = store.GetEvent(*seq);
    if (!bytes.ok()) continue;
    auto envelope = ledger::ParsedEnvelope::ParseTrusted(*bytes, ledger::kEnvelopeBytesMax);
    if (!envelope.ok()) continue;
    auto body = ledger::ParsedBody::ParseTrusted(ledger::AsView(envelope->get().getBody()),
                                                 ledger::kEventBodyBytesMax);
    if (!body.ok() || !body->get().isReadingsBatch()) continue;
    for (auto r : body->get().getReadingsBatch().getReadings()) {
      if (r.getMeterAddress() != meter.address || r.getCircuit() != meter.circuit) continue;
      return absl::StrCat("\"readAt\":", JsonEscape(projections::CampusTimeText(r.getReadAtUs())),
                          ",\"totalWh\":", r.getTotalWh(), ",\"voltageDv\":", r.getVoltageDv(),
                          ",\"currentMa\":", r.getCurrentMa(), ",\"powerW\":", r.getPowerW(),
                          ",\"powerFactorMilli\":", r.getPowerFactorMilli(),
                          ",\"relayOpen\":", r.getRelayOpen() ? "true" : "false",
                          ",\"readingsSeq\":", *seq);
    }
  }
  return std::nullopt;
}

}  // namespace

int RoomStatus() {
  std::string room = absl::GetFlag(FLAGS_room);
  if (room.empty()) return Usage("room status needs --room R");
  auto store = OpenDataStore();
  if (!store.ok()) return Fail(store.status());
  projections::Campus campus;
  projections::ControlBook book(campus);
  projections::ControlPolicies policies(campus, book);
  projections::DeviceStatus devices(campus);
  for (absl::Status loaded :
       {campus.Load(**store), book.Load(**store), policies.Load(**store), devices.Load(**store)}) {
    if (!loaded.ok()) return Fail(loaded);
  }
  auto found = campus.FindRoom(room);
  if (!found.has_value()) return Fail(absl::NotFoundError(absl::StrCat("no room ", room)));
  projections::RoomControl control = policies.ForRoom(room).value_or(projections::RoomControl{});
  std::string meters;
  for (const projections::Meter& meter : campus.Meters()) {
    if (meter.room_id != room || meter.retired) continue;
    auto link = devices.Meter(meter.address);
    absl::StrAppend(&meters, meters.empty() ? "" : ",", "{\"meter\":", JsonEscape(meter.address),
                    ",\"circuit\":", meter.circuit, ",\"link\":\"",
                    link.has_value() ? projections::LinkStateName(link->state) : "unknown", "\"");
    if (auto reading = LatestReadingJson(**store, meter)) absl::StrAppend(&meters, ",", *reading);
    absl::StrAppend(&meters, "}");
  }
  std::printf("%s\n",
              absl::StrCat(
                  "{\"room\":", JsonEscape(room),
                  ",\"balance\":", JsonEscape(projections::Cny(found->balance_fen)),
                  ",\"energyWh\":", found->energy_wh, ",\"monthEnergyWh\":", found->month_energy_wh,
                  ",\"allowanceLeftWh\":", found->allowance_left_wh, ",\"arrearsLevel\":",
                  JsonEscape(projections::ArrearsLevelName(control.level)), ",\"power\":\"",
                  control.WantsOpen(absl::ToUnixMicros(absl::Now())) ? "off" : "on",
                  "\",\"why\":", JsonEscape(control.cause), ",\"meters\":[", meters, "]}")
                  .c_str());
  return 0;
}

int ControlWhy() {
  std::string room = absl::GetFlag(FLAGS_room);
  if (room.empty()) return Usage("control why needs --room R");
  auto store = OpenDataStore();
  if (!store.ok()) return Fail(store.status());
  projections::Campus campus;
  projections::ControlBook book(campus);
  projections::ControlPolicies policies(campus, book);
  for (absl::Status loaded : {campus.Load(**store), book.Load(**store), policies.Load(**store)}) {
    if (!loaded.ok()) return Fail(loaded);
  }
  auto money = campus.MoneyOf(room);
  if (!money.has_value()) return Fail(absl::NotFoundError(absl::StrCat("no room ", room)));
  projections::RoomControl control = policies.ForRoom(room).value_or(projections::RoomControl{});
  auto [policy, scope] = policies.EffectivePolicy(room);
  const bool off = control.WantsOpen(absl::ToUnixMicros(absl::Now()));
  std::string meters;
  for (const auto& [address, circuit] : campus.CircuitsOfRoom(room)) {
    auto latest = book.Latest("relay", address, circuit);
    absl::StrAppend(&meters, meters.empty() ? "" : ",", "{\"meter\":", JsonEscape(address),
                    ",\"circuit\":", circuit);
    if (latest.has_value()) {
      auto names = capnp::Schema::from<schema::RelayAction>().getEnumerants();
      absl::StrAppend(
          &meters, ",\"lastCommand\":",
          JsonEscape(names[static_cast<uint16_t>(latest->relay)].getProto().getName().cStr()),
          ",\"commandSeq\":", latest->seq, ",\"state\":\"",
          projections::CommandStateName(latest->state), "\"");
    }
    absl::StrAppend(&meters, "}");
  }
  std::printf(
      "%s\n",
      absl::StrCat(
          "{\"room\":", JsonEscape(room), ",\"power\":\"", off ? "off" : "on",
          "\",\"why\":", JsonEscape(control.cause.empty() ? "no rule has acted" : control.cause),
          ",\"origin\":", JsonEscape(control.origin), ",\"decidedSeq\":", control.cause_seq,
          ",\"balance\":", JsonEscape(projections::Cny(money->balance_fen)),
          ",\"overdraftLimit\":", JsonEscape(projections::Cny(money->overdraft_limit_fen)),
          ",\"arrearsLevel\":", JsonEscape(projections::ArrearsLevelName(control.level)),
          ",\"cutWaitsUntil\":",
          JsonEscape(control.cut_deferred_until_us == 0
                         ? ""
                         : projections::CampusTimeText(control.cut_deferred_until_us)),
          ",\"keepPower\":", control.keep_power ? "true" : "false",
          ",\"operatorCut\":", control.operator_cut ? "true" : "false",
          ",\"lockout\":", control.lockout ? "true" : "false",
          ",\"lastViolation\":", JsonEscape(control.load_reason), ",\"policyScope\":",
          JsonEscape(scope.empty() ? "defaults" : scope), ",\"meters\":[", meters, "]}")
          .c_str());
  return 0;
}

int ViolationList() {
  auto store = OpenDataStore();
  if (!store.ok()) return Fail(store.status());
  std::string room = absl::GetFlag(FLAGS_room);
  if (!room.empty()) {
    auto seqs = (*store)->ReadStreamSeqs(absl::StrCat("room:", room), 1, SIZE_MAX);
    if (!seqs.ok()) return Fail(seqs.status());
    std::vector<std::string> envelopes;
    for (uint64_t seq : *seqs) {
      auto bytes = (*store)->GetEvent(seq);
      if (!bytes.ok()) return Fail(bytes.status());
      envelopes.push_back(std::move(*bytes));
    }
    absl::Status printed = PrintViolations(envelopes);
    return printed.ok() ? 0 : Fail(printed);
  }
  for (uint64_t from = 1;;) {
    auto page = (*store)->ReadRange(from, 4096);
    if (!page.ok()) return Fail(page.status());
    if (page->empty()) return 0;
    absl::Status printed = PrintViolations(*page);
    if (!printed.ok()) return Fail(printed);
    from += page->size();
  }
}

}  // namespace wattledger::wattctl
