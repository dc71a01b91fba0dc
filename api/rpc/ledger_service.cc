#include "api/rpc/ledger_service.h"

#include <kj/async.h>

#include "api/rpc/status_convert.h"
#include "ledger/event_format.h"
#include "ledger/limits.h"

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

class LedgerImpl final : public Ledger::Server {
 public:
  LedgerImpl(ledger::Ledger& ledger, kj::Timer& timer) : ledger_(ledger), timer_(timer) {}

  kj::Promise<void> subscribe(SubscribeContext context) override {
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
    auto params = context.getParams();
    size_t limit = std::min<size_t>(params.getLimit(), ledger::kReadEventsMax);
    auto envelopes = ledger_.store().ReadRange(std::max<uint64_t>(params.getFromSeq(), 1), limit);
    if (!envelopes.ok()) return Fail(envelopes.status());
    auto list = context.getResults().initEnvelopes(envelopes->size());
    for (size_t i = 0; i < envelopes->size(); ++i) list.set(i, AsData((*envelopes)[i]));
    return kj::READY_NOW;
  }

  kj::Promise<void> streamEvents(StreamEventsContext context) override {
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

 private:
  static kj::Promise<void> Fail(const absl::Status& status) {
    return KJ_EXCEPTION(FAILED, std::string(status.ToString()).c_str());
  }

  ledger::Ledger& ledger_;
  kj::Timer& timer_;
};

}  // namespace

Ledger::Client MakeLedgerService(ledger::Ledger& ledger, kj::Timer& timer) {
  return kj::heap<LedgerImpl>(ledger, timer);
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
