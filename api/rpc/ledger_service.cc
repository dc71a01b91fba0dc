#include "api/rpc/ledger_service.h"

#include <kj/async.h>
#include <openssl/rand.h>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/query/query.h"
#include "api/rpc/off_loop_worker.h"
#include "api/rpc/session_proof.h"
#include "api/rpc/status_convert.h"
#include "api/rpc/wire.h"
#include "ledger/event_format.h"
#include "ledger/limits.h"
#include "ledger/status_macros.h"
#include "ledger/structured_log.h"
#include "projections/reports/reports.h"

namespace wattledger::rpc {
namespace {

using ledger::AsData;
using ledger::AsView;

constexpr uint32_t kCheckpointsPerCallMax = 10000;

// How often a subscription that has caught up looks for new events.
constexpr kj::Duration kFollowEvery = 20 * kj::MILLISECONDS;

// One follower's stream: reads what is durable from `next`, pushes it, waits
// for the push to return, and again; idles on the timer at the head. Ends
// when the follower drops the subscription (this object, and the loop with
// it) or the sink fails.
class SubscriptionImpl final : public Subscription::Server {
 public:
  SubscriptionImpl(ledger::Ledger& ledger, kj::Timer& timer, EventSink::Client sink,
                   uint64_t from_seq)
      : ledger_(ledger),
        timer_(timer),
        sink_(kj::mv(sink)),
        next_(std::max<uint64_t>(from_seq, 1)),
        loop_(Pump().eagerlyEvaluate([](kj::Exception&&) {})) {}

 private:
  kj::Promise<void> Pump() {
    uint64_t head = ledger_.head().seq;  // durable
    if (next_ > head) return timer_.afterDelay(kFollowEvery).then([this] { return Pump(); });
    size_t limit = std::min<uint64_t>(ledger::kReadEventsMax, head - next_ + 1);
    auto envelopes = ledger_.store().ReadRange(next_, limit);
    if (!envelopes.ok() || envelopes->empty()) {
      return KJ_EXCEPTION(FAILED, "cannot read the log for a subscription");
    }
    auto request = sink_.pushRequest();
    auto list = request.initEnvelopes(static_cast<unsigned>(envelopes->size()));
    for (size_t i = 0; i < envelopes->size(); ++i) list.set(i, AsData((*envelopes)[i]));
    next_ += envelopes->size();
    return request.send().then([this](auto) { return Pump(); });
  }

  ledger::Ledger& ledger_;
  kj::Timer& timer_;
  EventSink::Client sink_;
  uint64_t next_;
  kj::Promise<void> loop_;
};

// How long a challenge nonce stays redeemable, and how many may be
// outstanding (past that, expired ones are purged, then challenges refused).
constexpr int64_t kNonceLifetimeUs = 60'000'000;
constexpr size_t kNoncesOutstandingMax = 10'000;
// How long a report query waits for the reports to apply the log.
constexpr absl::Duration kReportWait = absl::Seconds(5);

struct Shared;
absl::StatusOr<std::string> IssueNonce(Shared& shared);
absl::Status RedeemNonce(Shared& shared, const std::string& nonce);

// What the log's readers, the session gate and the queries share, for as
// long as the bootstrap or any session lives.
struct Shared {
  Shared(ledger::Ledger& ledger_in, kj::Timer& timer_in, LedgerServiceOptions options_in)
      : ledger(ledger_in), timer(timer_in), options(std::move(options_in)) {}
  ledger::Ledger& ledger;
  kj::Timer& timer;
  const LedgerServiceOptions options;
  // Nonces issued and not yet redeemed, with when they expire.
  absl::flat_hash_map<std::string, int64_t> nonces;
  OffLoopWorker worker;
};

// Every Ledger call. Whether the log's reads are served is the subclass's
// answer: the bootstrap serves them on an open endpoint only, a session to
// the roles that may read.
class LedgerCalls : public virtual Ledger::Server {
 public:
  explicit LedgerCalls(std::shared_ptr<Shared> shared)
      : shared_(std::move(shared)), ledger_(shared_->ledger), timer_(shared_->timer) {}

 protected:
  virtual absl::Status MayRead() const = 0;
  static kj::Promise<void> Fail(const absl::Status& status) {
    return KJ_EXCEPTION(FAILED, std::string(status.ToString()).c_str());
  }
  std::shared_ptr<Shared> shared_;

 public:
  kj::Promise<void> subscribe(SubscribeContext context) override {
    if (absl::Status may = MayRead(); !may.ok()) return Fail(may);
    auto params = context.getParams();
    context.getResults().setSubscription(
        kj::heap<SubscriptionImpl>(ledger_, timer_, params.getSink(), params.getFromSeq()));
    return kj::READY_NOW;
  }

  kj::Promise<void> submit(SubmitContext context) override {
    auto request = ToSignedRequest(context.getParams().getRequest());
    if (!request.ok()) {
      FillStatus(context.getResults().initOutcome().initStatus(), request.status());
      return kj::READY_NOW;
    }
    return SubmitFromLoop(ledger_, std::move(*request))
        .then([this, context](BoxedOutcome boxed) mutable {
          absl::StatusOr<ledger::AppendResult>& result = *boxed;
          auto outcome = context.getResults().initOutcome();
          FillStatus(outcome.initStatus(), result.status());
          if (!result.ok()) return;
          outcome.setSeq(result->seq);
          outcome.setChainHash(AsData(absl::MakeConstSpan(result->chain_hash)));
          outcome.setResult(AsData(result->result));
          outcome.setDuplicate(result->duplicate);
          // Durable already: the ledger completes a request after its commit.
          size_t count = std::min<uint64_t>(1 + result->derived, ledger::kReadEventsMax);
          auto events = ledger_.store().ReadRange(result->seq, count);
          if (!events.ok()) return;
          auto list = outcome.initEvents(static_cast<unsigned>(events->size()));
          for (size_t i = 0; i < events->size(); ++i) list.set(i, AsData((*events)[i]));
        });
  }

  kj::Promise<void> events(EventsContext context) override {
    if (absl::Status may = MayRead(); !may.ok()) return Fail(may);
    auto params = context.getParams();
    size_t limit = std::min<size_t>(params.getLimit(), ledger::kReadEventsMax);
    auto envelopes = ledger_.store().ReadRange(std::max<uint64_t>(params.getFromSeq(), 1), limit);
    if (!envelopes.ok()) return Fail(envelopes.status());
    auto list = context.getResults().initEnvelopes(envelopes->size());
    for (size_t i = 0; i < envelopes->size(); ++i) list.set(i, AsData((*envelopes)[i]));
    return kj::READY_NOW;
  }

  kj::Promise<void> streamEvents(StreamEventsContext context) override {
    if (absl::Status may = MayRead(); !may.ok()) return Fail(may);
    auto params = context.getParams();
    size_t limit = std::min<size_t>(params.getLimit(), ledger::kReadEventsMax);
    absl::string_view stream(params.getStream().cStr(), params.getStream().size());
    auto seqs = ledger_.store().ReadStreamSeqs(stream, params.getFromVersion(), limit);
    if (!seqs.ok()) return Fail(seqs.status());
    auto list = context.getResults().initEnvelopes(seqs->size());
    for (size_t i = 0; i < seqs->size(); ++i) {
      auto envelope = ledger_.store().GetEvent((*seqs)[i]);
      if (!envelope.ok()) return Fail(envelope.status());
      list.set(i, AsData(*envelope));
    }
    return kj::READY_NOW;
  }

  kj::Promise<void> head(HeadContext context) override {
    ledger::Head head = ledger_.head();
    auto results = context.getResults();
    results.setSeq(head.seq);
    results.setChainHash(AsData(absl::MakeConstSpan(head.chain_hash)));
    results.setLedgerPublicKey(AsData(absl::MakeConstSpan(ledger_.ledger_public_key())));
    return kj::READY_NOW;
  }

  kj::Promise<void> checkpoints(CheckpointsContext context) override {
    if (absl::Status may = MayRead(); !may.ok()) return Fail(may);
    auto params = context.getParams();
    size_t limit = std::min<uint32_t>(params.getLimit(), kCheckpointsPerCallMax);
    auto checkpoints = ledger_.store().ReadCheckpoints(params.getFromSeq(), limit);
    if (!checkpoints.ok()) return Fail(checkpoints.status());
    auto list = context.getResults().initCheckpoints(checkpoints->size());
    for (size_t i = 0; i < checkpoints->size(); ++i)
      list.set(i, AsData((*checkpoints)[i].canonical));
    return kj::READY_NOW;
  }

  kj::Promise<void> keys(KeysContext context) override {
    if (absl::Status may = MayRead(); !may.ok()) return Fail(may);
    auto entries = ledger_.keys().List();
    auto list = context.getResults().initKeys(entries.size());
    for (size_t i = 0; i < entries.size(); ++i) {
      const auto& [id, entry] = entries[i];
      auto info = list[i];
      info.setKeyId(AsData(absl::MakeConstSpan(id)));
      info.setPublicKey(AsData(absl::MakeConstSpan(entry.key->raw())));
      info.setRole(entry.role);
      info.setHolder(entry.holder);
      info.setRevoked(entry.revoked);
      info.setRegisteredSeq(entry.registered_seq);
    }
    return kj::READY_NOW;
  }

  kj::Promise<void> challenge(ChallengeContext context) override {
    auto nonce = IssueNonce(*shared_);
    if (!nonce.ok()) return Fail(nonce.status());
    context.getResults().setNonce(AsData(*nonce));
    return kj::READY_NOW;
  }

  kj::Promise<void> authenticate(AuthenticateContext context) override;

 private:
  ledger::Ledger& ledger_;
  kj::Timer& timer_;
};

// A registered key's session. Each call looks the key up again, so a
// revocation ends what the session may do at once.
class SessionImpl final : public Session::Server, public LedgerCalls {
 public:
  SessionImpl(std::shared_ptr<Shared> shared, ledger::KeyId key_id)
      : LedgerCalls(std::move(shared)), key_id_(key_id) {}

  kj::Promise<void> query(QueryContext context) override {
    auto role = ActiveRole();
    auto params = context.getParams();
    query::Query q{.name = Str(params.getName())};
    for (auto arg : params.getArgs()) q.args[Str(arg.getName())] = Str(arg.getValue());
    absl::Status allowed = role.status();
    if (allowed.ok() && !query::RoleMayQuery(*role, q.name)) {
      allowed = query::FindQuery(q.name) == nullptr
                    ? absl::InvalidArgumentError(absl::StrCat("no query '", q.name, "'"))
                    : absl::PermissionDeniedError(absl::StrCat(
                          "a key of role ", ledger::RoleName(*role), " may not run ", q.name));
    }
    if (!allowed.ok()) {
      FillStatus(context.getResults().initStatus(), allowed);
      return kj::READY_NOW;
    }
    // The job holds what outlives the server (the ledger, the projections),
    // never `shared_`: the worker must not be destroyed from its own thread.
    ledger::Ledger* ledger = &shared_->ledger;
    std::function<absl::StatusOr<query::Answer>()> job = [ledger, options = shared_->options, q]() {
      uint64_t head = ledger->head().seq;
      // A report includes everything durable when the query arrived.
      if (options.reports != nullptr && absl::StartsWith(q.name, "report.")) {
        options.reports->WaitFor(head, kReportWait);
      }
      query::QuerySource source{.domain = options.domain,
                                .store = &ledger->store(),
                                .now_us = absl::ToUnixMicros(absl::Now()),
                                .scratch_dir = options.scratch_dir};
      return query::RunQuery(source, q);
    };
    return shared_->worker.Run(std::move(job))
        .then([context](kj::Own<absl::StatusOr<query::Answer>> answer) mutable {
          auto results = context.getResults();
          FillStatus(results.initStatus(), answer->status());
          if (!answer->ok()) return;
          auto lines = results.initLines(static_cast<unsigned>((*answer)->lines.size()));
          for (size_t i = 0; i < (*answer)->lines.size(); ++i) lines.set(i, (*answer)->lines[i]);
          auto notes = results.initNotes(static_cast<unsigned>((*answer)->notes.size()));
          for (size_t i = 0; i < (*answer)->notes.size(); ++i) notes.set(i, (*answer)->notes[i]);
        });
  }

  kj::Promise<void> whoami(WhoamiContext context) override {
    auto entry = shared_->ledger.keys().Find(key_id_);
    if (!entry.has_value()) return Fail(absl::UnauthenticatedError("the key is not registered"));
    auto results = context.getResults();
    results.setKeyId(AsData(absl::MakeConstSpan(key_id_)));
    results.setRole(entry->role);
    results.setHolder(entry->holder);
    return kj::READY_NOW;
  }

 private:
  // The key's role while it is registered and not revoked.
  absl::StatusOr<ledger::Role> ActiveRole() const {
    auto entry = shared_->ledger.keys().Find(key_id_);
    if (!entry.has_value()) return absl::UnauthenticatedError("the key is not registered");
    if (entry->revoked) return absl::PermissionDeniedError("the session's key has been revoked");
    return entry->role;
  }

  absl::Status MayRead() const override {
    WL_ASSIGN_OR_RETURN(ledger::Role role, ActiveRole());
    if (role == ledger::Role::ADMIN || role == ledger::Role::OPERATOR ||
        role == ledger::Role::AUDITOR) {
      return absl::OkStatus();
    }
    return absl::PermissionDeniedError(
        absl::StrCat("a key of role ", ledger::RoleName(role), " may not read the log"));
  }

  const ledger::KeyId key_id_;
};

// The endpoint's bootstrap: submissions, the head and the session gate for
// everyone; the log's reads only where the endpoint is open.
class LedgerImpl final : public LedgerCalls {
 public:
  using LedgerCalls::LedgerCalls;

 private:
  absl::Status MayRead() const override {
    if (shared_->options.open_reads) return absl::OkStatus();
    return absl::PermissionDeniedError(
        "reading the log on this endpoint needs a session: authenticate with a registered key "
        "(wattctl --key)");
  }
};

kj::Promise<void> LedgerCalls::authenticate(AuthenticateContext context) {
  auto params = context.getParams();
  auto results = context.getResults();
  absl::Status redeemed = RedeemNonce(*shared_, ledger::ToString(params.getNonce()));
  auto key_id = FixedBytes<32>(params.getKeyId());
  auto entry = shared_->ledger.keys().Find(key_id);
  absl::Status status = redeemed;
  if (status.ok() && (params.getKeyId().size() != 32 || !entry.has_value())) {
    status = absl::UnauthenticatedError("the key is not registered");
  }
  if (status.ok() && entry->revoked) status = absl::PermissionDeniedError("the key is revoked");
  if (status.ok()) {
    std::string message = SessionProofMessage(ledger::ToString(params.getNonce()));
    if (params.getSignature().size() != 64 ||
        !entry->key->Verify(ledger::AsBytes(message), FixedBytes<64>(params.getSignature()))) {
      status = absl::UnauthenticatedError("the signature does not match the key and nonce");
    }
  }
  FillStatus(results.initStatus(), status);
  if (status.ok()) results.setSession(kj::heap<SessionImpl>(shared_, key_id));
  ledger::LogEvent(status.ok() ? "info" : "warning", "rpc_session",
                   {{"keyId", ledger::ToHex(absl::MakeConstSpan(key_id))},
                    {"outcome", std::string(status.ok() ? "opened" : status.ToString())}});
  return kj::READY_NOW;
}

absl::StatusOr<std::string> IssueNonce(Shared& shared) {
  const int64_t now = absl::ToUnixMicros(absl::Now());
  if (shared.nonces.size() >= kNoncesOutstandingMax) {
    absl::erase_if(shared.nonces, [now](const auto& entry) { return entry.second <= now; });
    if (shared.nonces.size() >= kNoncesOutstandingMax) {
      return absl::ResourceExhaustedError("too many challenges outstanding; try again shortly");
    }
  }
  std::string nonce(kSessionNonceBytes, '\0');
  WL_CHECK(RAND_bytes(reinterpret_cast<uint8_t*>(nonce.data()), nonce.size()) == 1);
  shared.nonces[nonce] = now + kNonceLifetimeUs;
  return nonce;
}

absl::Status RedeemNonce(Shared& shared, const std::string& nonce) {
  auto it = shared.nonces.find(nonce);
  if (it == shared.nonces.end()) {
    return absl::UnauthenticatedError("unknown or already used challenge nonce");
  }
  const bool fresh = it->second > absl::ToUnixMicros(absl::Now());
  shared.nonces.erase(it);
  if (!fresh) return absl::UnauthenticatedError("the challenge nonce has expired");
  return absl::OkStatus();
}

}  // namespace

Ledger::Client MakeLedgerService(ledger::Ledger& ledger, kj::Timer& timer,
                                 LedgerServiceOptions options) {
  return kj::heap<LedgerImpl>(std::make_shared<Shared>(ledger, timer, std::move(options)));
}

kj::Promise<BoxedOutcome> SubmitFromLoop(ledger::Ledger& ledger, ledger::SignedRequest request) {
  auto paf = kj::newPromiseAndCrossThreadFulfiller<BoxedOutcome>();
  auto fulfiller = std::make_shared<kj::Own<kj::CrossThreadPromiseFulfiller<BoxedOutcome>>>(
      kj::mv(paf.fulfiller));
  ledger.Submit(std::move(request), [fulfiller](absl::StatusOr<ledger::AppendResult> result) {
    (*fulfiller)->fulfill(kj::heap<absl::StatusOr<ledger::AppendResult>>(std::move(result)));
  });
  return kj::mv(paf.promise);
}

absl::StatusOr<ledger::SignedRequest> ToSignedRequest(SignedRequest::Reader params) {
  if (params.getSignerKeyId().size() != 32 || params.getSignature().size() != 64 ||
      params.getBody().size() > ledger::kEventBodyBytesMax) {
    return absl::InvalidArgumentError(
        "a signed request needs a 32-byte key id, a 64-byte signature and a body within the size "
        "limit");
  }
  ledger::SignedRequest request;
  request.body = ledger::ToString(params.getBody());
  std::memcpy(request.signer_key_id.data(), params.getSignerKeyId().begin(), 32);
  std::memcpy(request.signature.data(), params.getSignature().begin(), 64);
  if (params.getExpectedStreamVersion() >= 0) {
    request.expected_stream_version = static_cast<uint64_t>(params.getExpectedStreamVersion());
  }
  return request;
}

}  // namespace wattledger::rpc
