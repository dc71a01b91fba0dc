#include "tests/testing/ledger_fixture.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "ledger/event_store.h"
#include "ledger/limits.h"

namespace wattledger::testing {

using ledger::Role;

TempDir::TempDir() : TempDir(std::filesystem::temp_directory_path().string()) {}

TempDir::TempDir(const std::string& parent) {
  std::string templ = (std::filesystem::path(parent) / "wattledger-test-XXXXXX").string();
  char* made = mkdtemp(templ.data());
  if (made == nullptr) std::abort();
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

ledger::SigningKey TestKey(uint8_t tag) {
  std::array<uint8_t, 32> seed{};
  seed.fill(tag);
  auto key = ledger::SigningKey::FromSeed(seed);
  if (!key.ok()) std::abort();
  return *key;
}

ledger::SignedRequest Sign(const std::string& body, const ledger::SigningKey& key) {
  ledger::SignedRequest request;
  request.body = body;
  request.signer_key_id = key.key_id();
  request.signature = key.Sign(ledger::AsBytes(ledger::EventSigningMessage(body)));
  return request;
}

std::string DepositBody(const std::string& idempotency_key, int64_t issued_at_us,
                        const std::string& room, int64_t amount_fen) {
  return MakeBody(idempotency_key, issued_at_us, "room:" + room, [&](auto body) {
    auto deposit = body.initDepositMade();
    deposit.setRoomId(room);
    deposit.setAmountFen(amount_fen);
    deposit.setChannel(schema::DepositChannel::COUNTER);
    deposit.setPayerCardNo("20260001");
    deposit.setCashierId("cashier-1");
  });
}

std::string RegisterKeyBody(const std::string& idempotency_key, int64_t issued_at_us,
                            const ledger::PublicKey& key, Role role) {
  return MakeBody(idempotency_key, issued_at_us, "keys", [&](auto body) {
    auto registered = body.initKeyRegistered();
    registered.setPublicKey(ledger::AsData(absl::MakeConstSpan(key)));
    registered.setRole(role);
    registered.setHolder("test");
  });
}

std::string RevokeKeyBody(const std::string& idempotency_key, int64_t issued_at_us,
                          const ledger::KeyId& key_id) {
  return MakeBody(idempotency_key, issued_at_us, "keys", [&](auto body) {
    auto revoked = body.initKeyRevoked();
    revoked.setKeyId(ledger::AsData(absl::MakeConstSpan(key_id)));
    revoked.setReason("test");
  });
}

std::string SeqKey(uint64_t seq) {
  std::string key;
  ledger::PutU64BigEndian(key, seq);
  return key;
}

bool NamesSeq(absl::string_view message, uint64_t seq) {
  const std::string needle = absl::StrCat("seq ", seq);
  for (size_t at = message.find(needle); at != absl::string_view::npos;
       at = message.find(needle, at + 1)) {
    size_t end = at + needle.size();
    bool digit_follows = end < message.size() && message[end] >= '0' && message[end] <= '9';
    bool digit_precedes = at > 0 && message[at - 1] >= '0' && message[at - 1] <= '9';
    if (!digit_follows && !digit_precedes) return true;
  }
  return false;
}

absl::StatusOr<std::string> WithDepositAmount(absl::string_view envelope_bytes,
                                              int64_t amount_fen) {
  auto envelope = ledger::ParsedEnvelope::Parse(envelope_bytes, ledger::kEnvelopeBytesMax);
  if (!envelope.ok()) return envelope.status();
  auto body = ledger::ParsedBody::Parse(ledger::AsView(envelope->get().getBody()),
                                        ledger::kEventBodyBytesMax);
  if (!body.ok()) return body.status();
  if (!body->get().isDepositMade()) return absl::InvalidArgumentError("not a deposit");
  capnp::MallocMessageBuilder body_message;
  body_message.setRoot(body->get());
  body_message.getRoot<schema::EventBody>().getDepositMade().setAmountFen(amount_fen);
  std::string forged_body = ledger::Canonical(body_message.getRoot<schema::EventBody>().asReader());
  capnp::MallocMessageBuilder envelope_message;
  envelope_message.setRoot(envelope->get());
  envelope_message.getRoot<schema::Envelope>().setBody(ledger::AsData(forged_body));
  return ledger::Canonical(envelope_message.getRoot<schema::Envelope>().asReader());
}

absl::StatusOr<std::unique_ptr<RawStore>> RawStore::Open(const std::string& data_dir) {
  rocksdb::Options options;
  std::unique_ptr<RawStore> store(new RawStore());
  rocksdb::Status listed = rocksdb::DB::ListColumnFamilies(options, data_dir, &store->names_);
  if (!listed.ok()) return ledger::FromRocks(listed, "listing column families");
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& name : store->names_) {
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions(options));
  }
  rocksdb::DB* raw = nullptr;
  rocksdb::Status opened =
      rocksdb::DB::Open(options, data_dir, descriptors, &store->handles_, &raw);
  if (!opened.ok()) return ledger::FromRocks(opened, "opening the raw store");
  store->db_.reset(raw);
  return store;
}

RawStore::~RawStore() {
  for (auto* handle : handles_) db_->DestroyColumnFamilyHandle(handle);
  handles_.clear();
  db_.reset();
}

absl::StatusOr<rocksdb::ColumnFamilyHandle*> RawStore::Family(absl::string_view name) {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return handles_[i];
  }
  return absl::NotFoundError(absl::StrCat("no column family ", name));
}

absl::StatusOr<std::string> RawStore::Get(absl::string_view family, absl::string_view key) {
  auto handle = Family(family);
  if (!handle.ok()) return handle.status();
  std::string value;
  rocksdb::Status got =
      db_->Get(rocksdb::ReadOptions(), *handle, rocksdb::Slice(key.data(), key.size()), &value);
  if (!got.ok()) return ledger::FromRocks(got, "raw get");
  return value;
}

absl::Status RawStore::Put(absl::string_view family, absl::string_view key,
                           absl::string_view value) {
  auto handle = Family(family);
  if (!handle.ok()) return handle.status();
  rocksdb::WriteOptions options;
  options.sync = true;
  return ledger::FromRocks(db_->Put(options, *handle, rocksdb::Slice(key.data(), key.size()),
                                    rocksdb::Slice(value.data(), value.size())),
                           "raw put");
}

absl::Status RawStore::Delete(absl::string_view family, absl::string_view key) {
  auto handle = Family(family);
  if (!handle.ok()) return handle.status();
  rocksdb::WriteOptions options;
  options.sync = true;
  return ledger::FromRocks(db_->Delete(options, *handle, rocksdb::Slice(key.data(), key.size())),
                           "raw delete");
}

TestLedger::TestLedger(ledger::LedgerOptions options)
    : ledger_key_(TestKey(1)),
      admin_(TestKey(2)),
      cashier_(TestKey(3)),
      base_options_(std::move(options)) {
  data_dir_ = dir_.Sub("ledger");
  auto opts = this->options();
  absl::Status initialized = ledger::Ledger::Initialize(opts, admin_.public_key(), "Test Campus");
  if (!initialized.ok()) {
    ADD_FAILURE() << initialized;
    return;
  }
  absl::Status opened = Reopen();
  if (!opened.ok()) {
    ADD_FAILURE() << opened;
    return;
  }
  auto registered = Append(Sign(
      RegisterKeyBody("register-cashier", now_us(), cashier_.public_key(), Role::CASHIER), admin_));
  if (!registered.ok()) ADD_FAILURE() << registered.status();
}

TestLedger::~TestLedger() { Close(); }

ledger::LedgerOptions TestLedger::options() const {
  ledger::LedgerOptions opts = base_options_;
  opts.data_dir = data_dir_;
  opts.ledger_key = ledger_key_;
  opts.clock = &clock_;
  return opts;
}

void TestLedger::Close() { ledger_.reset(); }

absl::Status TestLedger::Reopen() {
  ledger_.reset();
  auto opened = ledger::Ledger::Open(options());
  if (!opened.ok()) return opened.status();
  ledger_ = std::move(*opened);
  return absl::OkStatus();
}

absl::StatusOr<ledger::AppendResult> TestLedger::Append(ledger::SignedRequest request) {
  return ledger_->Submit(std::move(request)).get();
}

absl::StatusOr<ledger::AppendResult> TestLedger::Deposit(const std::string& room,
                                                         int64_t amount_fen) {
  return Append(
      Sign(DepositBody(absl::StrCat("deposit-", next_idempotency_++), now_us(), room, amount_fen),
           cashier_));
}

absl::StatusOr<ledger::SigningKey> TestLedger::RegisterKey(Role role) {
  ledger::SigningKey key = TestKey(static_cast<uint8_t>(next_key_tag_++));
  auto result = Append(Sign(
      RegisterKeyBody(absl::StrCat("register-", next_key_tag_), now_us(), key.public_key(), role),
      admin_));
  if (!result.ok()) return result.status();
  return key;
}

}  // namespace wattledger::testing

// --- The money domain -------------------------------------------------------

namespace wattledger::testing {

std::string BuildingBody(const std::string& key, int64_t issued_at_us,
                         const std::string& building_id) {
  return MakeBody(key, issued_at_us, "registry", [&](auto body) {
    auto building = body.initBuildingRegistered();
    building.setBuildingId(building_id);
    building.setName(absl::StrCat("Building ", building_id));
    building.setCampus("North");
  });
}

std::string RoomBody(const std::string& key, int64_t issued_at_us, const std::string& room_id,
                     const std::string& building_id, uint32_t capacity,
                     const std::string& tariff_class) {
  return MakeBody(key, issued_at_us, "room:" + room_id, [&](auto body) {
    auto room = body.initRoomRegistered();
    room.setRoomId(room_id);
    room.setBuildingId(building_id);
    room.setFloor(3);
    room.setNumber(room_id);
    room.setCapacity(capacity);
    room.setTariffClass(tariff_class);
  });
}

std::string OccupantBody(const std::string& key, int64_t issued_at_us, const std::string& room_id,
                         const std::string& person_id, const std::string& identity_class,
                         const std::string& card_no) {
  return MakeBody(key, issued_at_us, "room:" + room_id, [&](auto body) {
    auto occupant = body.initOccupantAssigned();
    occupant.setRoomId(room_id);
    occupant.setPersonId(person_id);
    occupant.setName(absl::StrCat("Student ", person_id));
    occupant.setIdentityClass(identity_class);
    occupant.setCardNo(card_no);
  });
}

std::string MoveOutBody(const std::string& key, int64_t issued_at_us, const std::string& room_id,
                        const std::string& person_id) {
  return MakeBody(key, issued_at_us, "room:" + room_id, [&](auto body) {
    auto moved = body.initOccupantMovedOut();
    moved.setRoomId(room_id);
    moved.setPersonId(person_id);
    moved.setReason("test");
  });
}

std::string GatewayBody(const std::string& key, int64_t issued_at_us,
                        const std::string& gateway_id) {
  return MakeBody(key, issued_at_us, "registry", [&](auto body) {
    auto gateway = body.initGatewayRegistered();
    gateway.setGatewayId(gateway_id);
    gateway.setAddress("10.0.0.1:9000");
    gateway.setLocation("basement");
    gateway.setMode(schema::GatewayMode::SERVER);
  });
}

std::string MeterBody(const std::string& key, int64_t issued_at_us, const MeterSpec& meter) {
  return MakeBody(key, issued_at_us, "meter:" + meter.address, [&](auto body) {
    auto installed = body.initMeterInstalled();
    installed.setMeterAddress(meter.address);
    installed.setGatewayId(meter.gateway_id);
    installed.setRoomId(meter.room_id);
    installed.setCircuit(meter.circuit);
    installed.setInitialReadingWh(meter.initial_wh);
    installed.setRatedCurrentMa(meter.rated_current_ma);
    installed.setNominalVoltageDv(meter.nominal_voltage_dv);
  });
}

std::string MeterReplacedBody(const std::string& key, int64_t issued_at_us,
                              const std::string& old_address, const std::string& new_address,
                              uint8_t circuit, int64_t old_final_wh, int64_t new_initial_wh) {
  return MakeBody(key, issued_at_us, "meter:" + old_address, [&](auto body) {
    auto replaced = body.initMeterReplaced();
    replaced.setOldMeterAddress(old_address);
    replaced.setNewMeterAddress(new_address);
    replaced.setCircuit(circuit);
    replaced.setOldFinalReadingWh(old_final_wh);
    replaced.setNewInitialReadingWh(new_initial_wh);
  });
}

std::string TariffBody(const std::string& key, int64_t issued_at_us,
                       const std::string& identity_class, int64_t effective_from_us,
                       const std::vector<TierSpec>& tiers, int64_t allowance_wh_per_year) {
  return MakeBody(key, issued_at_us, "tariff:" + identity_class, [&](auto body) {
    auto tariff = body.initTariffSet();
    tariff.setIdentityClass(identity_class);
    tariff.setEffectiveFromUs(effective_from_us);
    auto list = tariff.initTiers(static_cast<unsigned>(tiers.size()));
    for (size_t i = 0; i < tiers.size(); ++i) {
      list[i].setUptoWh(tiers[i].upto_wh);
      list[i].setPricePerKwh(tiers[i].price_per_kwh);
    }
    tariff.setAllowanceWhPerYear(allowance_wh_per_year);
  });
}

std::string OverdraftBody(const std::string& key, int64_t issued_at_us, const std::string& room_id,
                          int64_t limit_fen) {
  return MakeBody(key, issued_at_us, "room:" + room_id, [&](auto body) {
    auto limit = body.initOverdraftLimitSet();
    limit.setRoomId(room_id);
    limit.setLimitFen(limit_fen);
  });
}

std::string ChannelDepositBody(const std::string& key, int64_t issued_at_us,
                               const std::string& room_id, int64_t amount_fen,
                               schema::DepositChannel channel, const std::string& payer_card_no) {
  return MakeBody(key, issued_at_us, "room:" + room_id, [&](auto body) {
    auto deposit = body.initDepositMade();
    deposit.setRoomId(room_id);
    deposit.setAmountFen(amount_fen);
    deposit.setChannel(channel);
    deposit.setPayerCardNo(payer_card_no);
    deposit.setCashierId(channel == schema::DepositChannel::WEB ? "web" : "terminal-1");
    if (channel == schema::DepositChannel::CARD_CENTER) deposit.setTradeNo(key);
  });
}

std::string ReversalBody(const std::string& key, int64_t issued_at_us, uint64_t deposit_seq) {
  return MakeBody(key, issued_at_us, "reversals", [&](auto body) {
    auto reversal = body.initDepositReversed();
    reversal.setDepositSeq(deposit_seq);
    reversal.setReason("keyed in twice");
  });
}

std::string RefundBody(const std::string& key, int64_t issued_at_us, const std::string& room_id,
                       const std::string& person_id) {
  return MakeBody(key, issued_at_us, "room:" + room_id, [&](auto body) {
    auto refund = body.initRefundIssued();
    refund.setRoomId(room_id);
    refund.setPersonId(person_id);
    refund.setReason(schema::RefundReason::GRADUATION);
  });
}

std::string ExchangeBody(const std::string& key, int64_t issued_at_us, const std::string& person_id,
                         const std::string& from_room_id, const std::string& to_room_id,
                         const std::string& swap_person_id) {
  return MakeBody(key, issued_at_us, "room:" + from_room_id, [&](auto body) {
    auto exchange = body.initRoomExchanged();
    exchange.setPersonId(person_id);
    exchange.setFromRoomId(from_room_id);
    exchange.setToRoomId(to_room_id);
    exchange.setSwapPersonId(swap_person_id);
  });
}

std::string ReadingsBody(const std::string& key, int64_t issued_at_us,
                         const std::string& gateway_id, const std::vector<ReadingSpec>& readings) {
  return MakeBody(key, issued_at_us, "gateway:" + gateway_id, [&](auto body) {
    auto batch = body.initReadingsBatch();
    batch.setGatewayId(gateway_id);
    batch.setSweepStartedUs(issued_at_us);
    auto list = batch.initReadings(static_cast<unsigned>(readings.size()));
    for (size_t i = 0; i < readings.size(); ++i) {
      list[i].setMeterAddress(readings[i].address);
      list[i].setCircuit(readings[i].circuit);
      list[i].setReadAtUs(readings[i].read_at_us);
      list[i].setTotalWh(readings[i].total_wh);
      list[i].setVoltageDv(2200);
    }
  });
}

std::string PeriodBody(int64_t issued_at_us, int64_t period_end_us, schema::PeriodKind kind) {
  std::string key =
      absl::StrCat("period/", kind == schema::PeriodKind::DAY ? "day/" : "month/", period_end_us);
  return MakeBody(key, issued_at_us, "periods", [&](auto body) {
    auto closed = body.initPeriodClosed();
    closed.setPeriodEndUs(period_end_us);
    closed.setKind(kind);
  });
}

absl::StatusOr<StoredEvent> ReadStoredEvent(const ledger::EventStore& store, uint64_t seq) {
  auto bytes = store.GetEvent(seq);
  if (!bytes.ok()) return bytes.status();
  auto envelope = ledger::ParsedEnvelope::Parse(*bytes, ledger::kEnvelopeBytesMax);
  if (!envelope.ok()) return envelope.status();
  StoredEvent event;
  auto signer = envelope->get().getSignerKeyId();
  if (signer.size() != event.signer.size()) return absl::DataLossError("bad signer key id");
  std::copy(signer.begin(), signer.end(), event.signer.begin());
  event.appended_at_us = envelope->get().getAppendedAtUs();
  event.body = std::string(ledger::AsView(envelope->get().getBody()));
  return event;
}

absl::Status SameDerivedFamilies(const ledger::EventStore& live,
                                 const ledger::EventStore& replayed) {
  for (absl::string_view family : {ledger::EventStore::kEvents, ledger::EventStore::kStreams,
                                   ledger::EventStore::kIdempotency, ledger::EventStore::kState}) {
    absl::Status same = SameFamily(live, replayed, family);
    if (!same.ok()) return same;
  }
  return absl::OkStatus();
}

absl::Status SameFamily(const ledger::EventStore& live, const ledger::EventStore& replayed,
                        absl::string_view family) {
  auto expected = live.Dump(family);
  if (!expected.ok()) return expected.status();
  auto actual = replayed.Dump(family);
  if (!actual.ok()) return actual.status();
  if (*expected == *actual) return absl::OkStatus();
  for (size_t i = 0; i < std::min(expected->size(), actual->size()); ++i) {
    if ((*expected)[i] != (*actual)[i]) {
      return absl::InternalError(absl::StrCat(family, " row ", i, " differs: key ",
                                              ledger::ToHex(ledger::AsBytes((*expected)[i].first)),
                                              " vs ",
                                              ledger::ToHex(ledger::AsBytes((*actual)[i].first))));
    }
  }
  return absl::InternalError(absl::StrCat(family, " has ", expected->size(), " rows live but ",
                                          actual->size(), " replayed"));
}

}  // namespace wattledger::testing
