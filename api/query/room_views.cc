// Rooms, a room's live status, why its power is as it is, and violations.
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/query/views.h"
#include "ledger/event_format.h"
#include "ledger/limits.h"
#include "ledger/structured_log.h"
#include "projections/domain.h"
#include "projections/texts.h"

namespace wattledger::query::views {
namespace {

using ledger::JsonEscape;

std::string RoomJson(const projections::Room& room) {
  std::vector<std::string> occupants;
  for (const auto& occupant : room.occupants) {
    occupants.push_back(absl::StrCat("{\"personId\":", JsonEscape(occupant.person_id),
                                     ",\"name\":", JsonEscape(occupant.name),
                                     ",\"identityClass\":", JsonEscape(occupant.identity_class),
                                     ",\"cardNo\":", JsonEscape(occupant.card_no), "}"));
  }
  return absl::StrCat(
      "{\"roomId\":", JsonEscape(room.room_id), ",\"buildingId\":", JsonEscape(room.building_id),
      ",\"floor\":", room.floor, ",\"number\":", JsonEscape(room.number),
      ",\"capacity\":", room.capacity, ",\"balance\":\"", projections::FormatCny(room.balance_fen),
      "\",\"balanceFen\":", room.balance_fen, ",\"overdraftLimitFen\":", room.overdraft_limit_fen,
      ",\"allowanceLeftWh\":", room.allowance_left_wh, ",\"monthEnergyWh\":", room.month_energy_wh,
      ",\"energyWh\":", room.energy_wh, ",\"depositsFen\":", room.deposits_fen,
      ",\"reversalsFen\":", room.reversals_fen, ",\"deductionsFen\":", room.deductions_fen,
      ",\"refundsFen\":", room.refunds_fen, ",\"transfersInFen\":", room.transfers_in_fen,
      ",\"transfersOutFen\":", room.transfers_out_fen, ",\"occupants\":[",
      absl::StrJoin(occupants, ","), "]}");
}

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

// Appends each ViolationRecorded among `envelopes` to `out`.
absl::Status AddViolations(const std::vector<std::string>& envelopes, Answer& out) {
  for (const std::string& bytes : envelopes) {
    WL_ASSIGN_OR_RETURN(auto envelope,
                        ledger::ParsedEnvelope::ParseTrusted(bytes, ledger::kEnvelopeBytesMax));
    WL_ASSIGN_OR_RETURN(auto body,
                        ledger::ParsedBody::ParseTrusted(ledger::AsView(envelope.get().getBody()),
                                                         ledger::kEventBodyBytesMax));
    if (!body.get().isViolationRecorded()) continue;
    out.lines.push_back(ViolationJson(envelope.get().getSeq(), body.get().getViolationRecorded()));
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

absl::StatusOr<std::string> RequiredRoom(const Args& args, absl::string_view query) {
  std::string room = Arg(args, "room");
  if (room.empty()) return absl::InvalidArgumentError(absl::StrCat(query, " needs a room"));
  return room;
}

}  // namespace

absl::StatusOr<Answer> Rooms(const QuerySource& source, const Args& args) {
  const projections::Campus& campus = source.domain->campus();
  std::string room_id = Arg(args, "room");
  Answer out;
  if (room_id.empty()) {
    for (const auto& room : campus.Rooms()) out.lines.push_back(RoomJson(room));
    return out;
  }
  auto room = campus.FindRoom(room_id);
  if (!room.has_value()) return absl::NotFoundError(absl::StrCat("no room ", room_id));
  out.lines.push_back(RoomJson(*room));
  return out;
}

absl::StatusOr<Answer> Balance(const QuerySource& source, const Args& args) {
  WL_ASSIGN_OR_RETURN(std::string room, RequiredRoom(args, "balance"));
  const projections::Domain& domain = *source.domain;
  auto standing = domain.campus().StandingOf(room, source.now_us);
  if (!standing.has_value()) return absl::NotFoundError(absl::StrCat("no room ", room));
  projections::RoomControl control =
      domain.policies().ForRoom(room).value_or(projections::RoomControl{});
  Answer out;
  out.lines.push_back(absl::StrCat(
      "{\"room\":", JsonEscape(room), ",\"balanceFen\":", standing->balance_fen,
      ",\"balance\":", JsonEscape(projections::FormatCny(standing->balance_fen)),
      ",\"allowanceLeftWh\":", standing->allowance_left_wh,
      ",\"pricePerKwh\":", standing->price_per_kwh, ",\"remainingWh\":", standing->remaining_wh,
      ",\"power\":\"", control.WantsOpen(source.now_us) ? "off" : "on",
      "\",\"arrearsLevel\":", JsonEscape(projections::ArrearsLevelName(control.level)),
      ",\"why\":", JsonEscape(control.cause), "}"));
  return out;
}

absl::StatusOr<Answer> RoomStatus(const QuerySource& source, const Args& args) {
  WL_ASSIGN_OR_RETURN(std::string room, RequiredRoom(args, "room status"));
  const projections::Domain& domain = *source.domain;
  auto found = domain.campus().FindRoom(room);
  if (!found.has_value()) return absl::NotFoundError(absl::StrCat("no room ", room));
  projections::RoomControl control =
      domain.policies().ForRoom(room).value_or(projections::RoomControl{});
  std::string meters;
  for (const projections::Meter& meter : domain.campus().Meters()) {
    if (meter.room_id != room || meter.retired) continue;
    auto link = domain.devices().Meter(meter.address);
    absl::StrAppend(&meters, meters.empty() ? "" : ",", "{\"meter\":", JsonEscape(meter.address),
                    ",\"circuit\":", meter.circuit, ",\"link\":\"",
                    link.has_value() ? projections::LinkStateName(link->state) : "unknown", "\"");
    if (auto reading = LatestReadingJson(*source.store, meter)) {
      absl::StrAppend(&meters, ",", *reading);
    }
    absl::StrAppend(&meters, "}");
  }
  Answer out;
  out.lines.push_back(absl::StrCat(
      "{\"room\":", JsonEscape(room),
      ",\"balance\":", JsonEscape(projections::Cny(found->balance_fen)),
      ",\"energyWh\":", found->energy_wh, ",\"monthEnergyWh\":", found->month_energy_wh,
      ",\"allowanceLeftWh\":", found->allowance_left_wh,
      ",\"arrearsLevel\":", JsonEscape(projections::ArrearsLevelName(control.level)),
      ",\"power\":\"", control.WantsOpen(source.now_us) ? "off" : "on",
      "\",\"why\":", JsonEscape(control.cause), ",\"meters\":[", meters, "]}"));
  return out;
}

absl::StatusOr<Answer> ControlWhy(const QuerySource& source, const Args& args) {
  WL_ASSIGN_OR_RETURN(std::string room, RequiredRoom(args, "control why"));
  const projections::Domain& domain = *source.domain;
  auto money = domain.campus().MoneyOf(room);
  if (!money.has_value()) return absl::NotFoundError(absl::StrCat("no room ", room));
  projections::RoomControl control =
      domain.policies().ForRoom(room).value_or(projections::RoomControl{});
  auto [policy, scope] = domain.policies().EffectivePolicy(room);
  const bool off = control.WantsOpen(source.now_us);
  std::string meters;
  for (const auto& [address, circuit] : domain.campus().CircuitsOfRoom(room)) {
    auto latest = domain.control().Latest("relay", address, circuit);
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
  Answer out;
  out.lines.push_back(absl::StrCat(
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
      ",\"keepPower\":", control.keep_power ? "true" : "false", ",\"operatorCut\":",
      control.operator_cut ? "true" : "false", ",\"lockout\":", control.lockout ? "true" : "false",
      ",\"lastViolation\":", JsonEscape(control.load_reason), ",\"policyScope\":",
      JsonEscape(scope.empty() ? "defaults" : scope), ",\"meters\":[", meters, "]}"));
  return out;
}

absl::StatusOr<Answer> Violations(const QuerySource& source, const Args& args) {
  const ledger::EventStore& store = *source.store;
  Answer out;
  std::string room = Arg(args, "room");
  if (!room.empty()) {
    WL_ASSIGN_OR_RETURN(auto seqs, store.ReadStreamSeqs(absl::StrCat("room:", room), 1, SIZE_MAX));
    std::vector<std::string> envelopes;
    for (uint64_t seq : seqs) {
      WL_ASSIGN_OR_RETURN(std::string bytes, store.GetEvent(seq));
      envelopes.push_back(std::move(bytes));
    }
    WL_RETURN_IF_ERROR(AddViolations(envelopes, out));
    return out;
  }
  for (uint64_t from = 1;;) {
    WL_ASSIGN_OR_RETURN(auto page, store.ReadRange(from, ledger::kReadEventsMax));
    if (page.empty()) return out;
    WL_RETURN_IF_ERROR(AddViolations(page, out));
    from += page.size();
  }
}

}  // namespace wattledger::query::views
