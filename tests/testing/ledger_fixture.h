// Helpers the ledger tests share: a temp directory that cleans up after
// itself, and a freshly initialised ledger on a real RocksDB with real keys
// and a manual clock, plus builders for signed requests; for the money
// domain's tests, builders of domain events and a ledger opened with the
// campus projection (CampusLedger).
#pragma once

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "ledger/clock.h"
#include "ledger/crypto.h"
#include "ledger/event_format.h"
#include "ledger/event_store.h"
#include "ledger/ledger.h"
#include "ledger/replay.h"

namespace wattledger::testing {

class TempDir {
 public:
  TempDir();
  // A temp dir under `parent` (e.g. a tmpfs for tests that need no fsync).
  explicit TempDir(const std::string& parent);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline constexpr int64_t kTestEpochUs = 1'790'000'000'000'000;  // 2026-09 in microseconds

// A deterministic key from a one-byte tag, so test vectors stay stable.
ledger::SigningKey TestKey(uint8_t tag);

// A body builder: fills the common fields and lets `fill` set the union.
template <typename Fill>
std::string MakeBody(const std::string& idempotency_key, int64_t issued_at_us,
                     const std::string& stream, Fill fill) {
  capnp::MallocMessageBuilder message;
  auto body = message.initRoot<schema::EventBody>();
  body.setIdempotencyKey(idempotency_key);
  body.setIssuedAtUs(issued_at_us);
  body.setStream(stream);
  fill(body);
  return ledger::Canonical(body.asReader());
}

ledger::SignedRequest Sign(const std::string& body, const ledger::SigningKey& key);

// A deposit of `amount_fen` into room `room` (cashier role may sign it).
std::string DepositBody(const std::string& idempotency_key, int64_t issued_at_us,
                        const std::string& room, int64_t amount_fen);
std::string RegisterKeyBody(const std::string& idempotency_key, int64_t issued_at_us,
                            const ledger::PublicKey& key, ledger::Role role);
std::string RevokeKeyBody(const std::string& idempotency_key, int64_t issued_at_us,
                          const ledger::KeyId& key_id);

// The events family's key for `seq` (u64 big-endian).
std::string SeqKey(uint64_t seq);

// True when `message` names seq `seq` as "seq N" not followed by another
// digit (so "seq 27" does not count as naming seq 2).
bool NamesSeq(absl::string_view message, uint64_t seq);

// `envelope` (canonical Envelope bytes holding a DepositMade) with the
// deposit's amount changed and everything else, signature included, kept:
// what someone who edits the files on disk would produce.
absl::StatusOr<std::string> WithDepositAmount(absl::string_view envelope, int64_t amount_fen);

// The RocksDB directory of a closed ledger opened directly, every column
// family included and nothing checked: how tests tamper with a store as an
// attacker (or a bad disk) with the files could.
class RawStore {
 public:
  static absl::StatusOr<std::unique_ptr<RawStore>> Open(const std::string& data_dir);
  ~RawStore();
  RawStore(const RawStore&) = delete;
  RawStore& operator=(const RawStore&) = delete;

  absl::StatusOr<std::string> Get(absl::string_view family, absl::string_view key);
  absl::Status Put(absl::string_view family, absl::string_view key, absl::string_view value);
  absl::Status Delete(absl::string_view family, absl::string_view key);

 private:
  RawStore() = default;
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> Family(absl::string_view name);
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<std::string> names_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

// A ledger initialised in a temp dir with an admin key and a registered
// cashier key. Reopen() closes and opens it again (as after a restart).
class TestLedger {
 public:
  explicit TestLedger(ledger::LedgerOptions options = {});
  ~TestLedger();

  ledger::Ledger& ledger() { return *ledger_; }
  ledger::ManualClock& clock() { return clock_; }
  const ledger::SigningKey& ledger_key() const { return ledger_key_; }
  const ledger::SigningKey& admin() const { return admin_; }
  const ledger::SigningKey& cashier() const { return cashier_; }
  const std::string& data_dir() const { return data_dir_; }
  int64_t now_us() const { return clock_.NowMicros(); }

  // Submits and waits; asserts nothing.
  absl::StatusOr<ledger::AppendResult> Append(ledger::SignedRequest request);
  // A cashier deposit with a fresh idempotency key.
  absl::StatusOr<ledger::AppendResult> Deposit(const std::string& room, int64_t amount_fen);
  // Registers a new key with `role`, signed by the admin.
  absl::StatusOr<ledger::SigningKey> RegisterKey(ledger::Role role);

  void Close();
  absl::Status Reopen();
  ledger::LedgerOptions options() const;
  // The inline projections the next Reopen() opens the ledger with (a
  // projection is loaded once, so a reopen needs fresh objects); not owned.
  void set_projections(std::vector<ledger::InlineProjection*> projections) {
    base_options_.projections = std::move(projections);
  }

 private:
  TempDir dir_;
  std::string data_dir_;
  ledger::ManualClock clock_{kTestEpochUs};
  ledger::SigningKey ledger_key_;
  ledger::SigningKey admin_;
  ledger::SigningKey cashier_;
  ledger::LedgerOptions base_options_;
  std::unique_ptr<ledger::Ledger> ledger_;
  int next_key_tag_ = 100;
  int next_idempotency_ = 0;
};

// --- The money domain -------------------------------------------------------
// Bodies of domain events built from the event schema alone (the rules live
// in projections/), and a ledger opened with the campus projection.

struct MeterSpec {
  std::string address;  // 12 digits
  std::string gateway_id;
  std::string room_id;
  uint8_t circuit = 1;
  int64_t initial_wh = 0;
  int64_t rated_current_ma = 40'000;  // 40 A
  int32_t nominal_voltage_dv = 2200;  // 220.0 V
};

struct ReadingSpec {
  std::string address;
  uint8_t circuit = 1;
  int64_t read_at_us = 0;
  int64_t total_wh = 0;
};

struct TierSpec {
  int64_t upto_wh = 0;  // 0: unbounded
  int64_t price_per_kwh = 0;
};

std::string BuildingBody(const std::string& key, int64_t issued_at_us,
                         const std::string& building_id);
std::string RoomBody(const std::string& key, int64_t issued_at_us, const std::string& room_id,
                     const std::string& building_id, uint32_t capacity,
                     const std::string& tariff_class = "");
std::string OccupantBody(const std::string& key, int64_t issued_at_us, const std::string& room_id,
                         const std::string& person_id, const std::string& identity_class,
                         const std::string& card_no);
std::string MoveOutBody(const std::string& key, int64_t issued_at_us, const std::string& room_id,
                        const std::string& person_id);
std::string GatewayBody(const std::string& key, int64_t issued_at_us,
                        const std::string& gateway_id);
std::string MeterBody(const std::string& key, int64_t issued_at_us, const MeterSpec& meter);
std::string MeterReplacedBody(const std::string& key, int64_t issued_at_us,
                              const std::string& old_address, const std::string& new_address,
                              uint8_t circuit, int64_t old_final_wh, int64_t new_initial_wh);
std::string TariffBody(const std::string& key, int64_t issued_at_us,
                       const std::string& identity_class, int64_t effective_from_us,
                       const std::vector<TierSpec>& tiers, int64_t allowance_wh_per_year);
std::string OverdraftBody(const std::string& key, int64_t issued_at_us, const std::string& room_id,
                          int64_t limit_fen);
// A deposit on `channel` paid from `payer_card_no`.
std::string ChannelDepositBody(const std::string& key, int64_t issued_at_us,
                               const std::string& room_id, int64_t amount_fen,
                               schema::DepositChannel channel, const std::string& payer_card_no);
std::string ReversalBody(const std::string& key, int64_t issued_at_us, uint64_t deposit_seq);
std::string RefundBody(const std::string& key, int64_t issued_at_us, const std::string& room_id,
                       const std::string& person_id);
std::string ExchangeBody(const std::string& key, int64_t issued_at_us, const std::string& person_id,
                         const std::string& from_room_id, const std::string& to_room_id,
                         const std::string& swap_person_id = "");
std::string ReadingsBody(const std::string& key, int64_t issued_at_us,
                         const std::string& gateway_id, const std::vector<ReadingSpec>& readings);
// A period tick as the ledger's PeriodTicker names it.
std::string PeriodBody(int64_t issued_at_us, int64_t period_end_us, schema::PeriodKind kind);

// The body of the envelope stored at `seq`, with its signer; kNotFound past the head.
struct StoredEvent {
  ledger::KeyId signer{};
  int64_t appended_at_us = 0;
  std::string body;  // canonical EventBody bytes
};
absl::StatusOr<StoredEvent> ReadStoredEvent(const ledger::EventStore& store, uint64_t seq);

// OK when every family replay rebuilds (events, streams, idempotency, state)
// holds the same rows in both stores; otherwise names the first difference.
absl::Status SameDerivedFamilies(const ledger::EventStore& live,
                                 const ledger::EventStore& replayed);
// The same for one family.
absl::Status SameFamily(const ledger::EventStore& live, const ledger::EventStore& replayed,
                        absl::string_view family);

// A TestLedger opened with a domain projection (projections::Campus; a
// template so this header stays free of projections/), with operator,
// card-center and ingest keys registered by the admin next to the cashier.
template <typename Projection>
class CampusLedger {
 public:
  CampusLedger() {
    projection_ = std::make_unique<Projection>();
    t_.set_projections({projection_.get()});
    absl::Status opened = t_.Reopen();
    if (!opened.ok()) ADD_FAILURE() << opened;
    operator_ = Register(ledger::Role::OPERATOR);
    card_center_ = Register(ledger::Role::CARD_CENTER);
    ingest_ = Register(ledger::Role::INGEST);
  }

  TestLedger& t() { return t_; }
  ledger::Ledger& ledger() { return t_.ledger(); }
  Projection& campus() { return *projection_; }
  int64_t now_us() const { return t_.now_us(); }
  uint64_t head_seq() { return t_.ledger().head().seq; }
  const ledger::SigningKey& operator_key() const { return *operator_; }
  const ledger::SigningKey& cashier() const { return t_.cashier(); }
  const ledger::SigningKey& card_center() const { return *card_center_; }
  const ledger::SigningKey& ingest() const { return *ingest_; }
  const ledger::SigningKey& admin() const { return t_.admin(); }

  // A fresh idempotency key.
  std::string Key(absl::string_view what) { return absl::StrCat(what, "-", next_key_++); }

  // Signs `body` with `key`, submits it and waits.
  absl::StatusOr<ledger::AppendResult> As(const ledger::SigningKey& key, const std::string& body) {
    return t_.Append(Sign(body, key));
  }
  absl::StatusOr<ledger::AppendResult> AsOperator(const std::string& body) {
    return As(*operator_, body);
  }
  absl::StatusOr<ledger::AppendResult> AsCashier(const std::string& body) {
    return As(t_.cashier(), body);
  }
  absl::StatusOr<ledger::AppendResult> AsCardCenter(const std::string& body) {
    return As(*card_center_, body);
  }
  absl::StatusOr<ledger::AppendResult> AsIngest(const std::string& body) {
    return As(*ingest_, body);
  }
  absl::StatusOr<ledger::AppendResult> AsLedger(const std::string& body) {
    return t_.ledger().SubmitAsLedger(body).get();
  }

  // Closes the ledger and opens it again with a new projection object.
  absl::Status Reopen() {
    t_.Close();
    projection_ = std::make_unique<Projection>();
    t_.set_projections({projection_.get()});
    return t_.Reopen();
  }

  // Stops the ledger, replays its whole log (ReplayMode::kFull) into a fresh
  // store with a fresh projection, compares every derived family byte for
  // byte, does the same for the state a state-only replay rebuilds (which
  // skips derived events), and reopens (with a new projection, so the reopen
  // is tested too). Returns the replayed projection for state comparisons.
  absl::StatusOr<std::unique_ptr<Projection>> ReplayAndReopen() {
    t_.ledger().Stop();
    auto replayed = std::make_unique<Projection>();
    {
      ledger::StoreOptions store_options;
      store_options.create_if_missing = true;
      auto target =
          ledger::EventStore::Open(dir_.Sub(absl::StrCat("replay-", next_key_++)), store_options);
      if (!target.ok()) return target.status();
      auto summary = ledger::Replay(t_.ledger().store(), **target, {replayed.get()}, {});
      if (!summary.ok()) return summary.status();
      absl::Status same = SameDerivedFamilies(t_.ledger().store(), **target);
      if (!same.ok()) return same;
    }
    {
      ledger::StoreOptions store_options;
      store_options.create_if_missing = true;
      auto target =
          ledger::EventStore::Open(dir_.Sub(absl::StrCat("replay-", next_key_++)), store_options);
      if (!target.ok()) return target.status();
      Projection state_only;
      ledger::ReplayOptions options;
      options.mode = ledger::ReplayMode::kStateOnly;
      auto summary = ledger::Replay(t_.ledger().store(), **target, {&state_only}, options);
      if (!summary.ok()) return summary.status();
      absl::Status same = SameFamily(t_.ledger().store(), **target, ledger::EventStore::kState);
      if (!same.ok())
        return absl::Status(same.code(), absl::StrCat("state-only: ", same.message()));
    }
    absl::Status reopened = Reopen();
    if (!reopened.ok()) return reopened;
    return replayed;
  }

 private:
  std::optional<ledger::SigningKey> Register(ledger::Role role) {
    auto key = t_.RegisterKey(role);
    if (!key.ok()) {
      ADD_FAILURE() << key.status();
      return TestKey(250);
    }
    return *key;
  }

  // Declared before t_ so the ledger closes before they go.
  TempDir dir_;
  std::unique_ptr<Projection> projection_;
  TestLedger t_;
  std::optional<ledger::SigningKey> operator_;
  std::optional<ledger::SigningKey> card_center_;
  std::optional<ledger::SigningKey> ingest_;
  int next_key_ = 0;
};

}  // namespace wattledger::testing
