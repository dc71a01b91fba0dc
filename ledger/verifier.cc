#include "ledger/verifier.h"

#include <deque>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "ledger/event_format.h"
#include "ledger/limits.h"
#include "ledger/status_macros.h"

namespace wattledger::ledger {
namespace {

absl::Status Bad(uint64_t seq, absl::string_view why) {
  return absl::DataLossError(absl::StrCat("seq ", seq, ": ", why));
}

template <size_t N>
std::array<uint8_t, N> Fixed(capnp::Data::Reader data) {
  std::array<uint8_t, N> out{};
  WL_CHECK(data.size() == N);
  std::memcpy(out.data(), data.begin(), N);
  return out;
}

}  // namespace

// Worker threads that check queued signature batches and remember the
// smallest seq whose signature is bad. Add() applies backpressure so the
// queue holds a few batches at most.
class Verifier::SignaturePool {
 public:
  explicit SignaturePool(int threads) {
    for (int i = 0; i < std::max(1, threads); ++i) workers_.emplace_back([this]() { Work(); });
  }
  ~SignaturePool() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    for (auto& worker : workers_) worker.join();
  }

  void Add(std::vector<SignatureJob> jobs) {
    if (jobs.empty()) return;
    absl::MutexLock lock(&mu_);
    auto has_room = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return queue_.size() < kQueuedBatchesMax;
    };
    mu_.Await(absl::Condition(&has_room));
    // Split so every worker gets a share of one batch.
    size_t share = (jobs.size() + workers_.size() - 1) / workers_.size();
    for (size_t begin = 0; begin < jobs.size(); begin += share) {
      size_t end = std::min(jobs.size(), begin + share);
      queue_.emplace_back(std::make_move_iterator(jobs.begin() + begin),
                          std::make_move_iterator(jobs.begin() + end));
    }
  }

  std::optional<uint64_t> Drain() {
    absl::MutexLock lock(&mu_);
    auto idle = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return queue_.empty() && busy_ == 0; };
    mu_.Await(absl::Condition(&idle));
    if (first_bad_ == UINT64_MAX) return std::nullopt;
    return first_bad_;
  }

 private:
  static constexpr size_t kQueuedBatchesMax = 8;

  void Work() {
    while (true) {
      std::vector<SignatureJob> batch;
      {
        absl::MutexLock lock(&mu_);
        auto ready = [this]()
                         ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_ || !queue_.empty(); };
        mu_.Await(absl::Condition(&ready));
        if (queue_.empty()) return;
        batch = std::move(queue_.front());
        queue_.pop_front();
        ++busy_;
      }
      uint64_t bad = UINT64_MAX;
      for (const SignatureJob& job : batch) {
        if (!job.key->Verify(AsBytes(job.message), job.signature)) bad = std::min(bad, job.seq);
      }
      absl::MutexLock lock(&mu_);
      first_bad_ = std::min(first_bad_, bad);
      --busy_;
    }
  }

  absl::Mutex mu_;
  std::deque<std::vector<SignatureJob>> queue_ ABSL_GUARDED_BY(mu_);
  int busy_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t first_bad_ ABSL_GUARDED_BY(mu_) = UINT64_MAX;
  std::vector<std::thread> workers_;
};

Verifier::Verifier(VerifyOptions options)
    : options_(std::move(options)), pool_(std::make_unique<SignaturePool>(options_.threads)) {}

Verifier::~Verifier() = default;

absl::Status Verifier::AddCheckpoint(absl::string_view canonical_checkpoint) {
  auto parsed = ParsedCheckpoint::Parse(canonical_checkpoint, 1024);
  if (!parsed.ok())
    return absl::DataLossError(absl::StrCat("checkpoint: ", parsed.status().message()));
  auto reader = parsed->get();
  if (reader.getChainHash().size() != 32 || reader.getSignature().size() != 64) {
    return absl::DataLossError("checkpoint: bad field sizes");
  }
  checkpoints_[reader.getSeq()] = {Fixed<32>(reader.getChainHash()),
                                   Fixed<64>(reader.getSignature())};
  return absl::OkStatus();
}

absl::Status Verifier::CheckCheckpointAt(uint64_t seq, const Hash& hash) {
  auto it = checkpoints_.find(seq);
  if (it == checkpoints_.end()) return absl::OkStatus();
  auto key = VerifyingKey::FromRaw(summary_.ledger_key);
  WL_CHECK(key.ok());
  if (!key->Verify(AsBytes(CheckpointSigningMessage(seq, it->second.first)), it->second.second)) {
    return Bad(seq, "the checkpoint's signature is not the ledger key's");
  }
  if (it->second.first != hash) return Bad(seq, "the event does not match its signed checkpoint");
  ++summary_.checkpoints;
  summary_.last_checkpoint_seq = seq;
  return absl::OkStatus();
}

absl::Status Verifier::CheckOne(absl::string_view bytes, std::vector<SignatureJob>& jobs) {
  const uint64_t seq = summary_.head.seq + 1;
  auto envelope = ParsedEnvelope::Parse(bytes, kEnvelopeBytesMax);
  if (!envelope.ok()) return Bad(seq, envelope.status().message());
  auto reader = envelope->get();
  absl::Status shape = ValidateEnvelopeShape(reader);
  if (!shape.ok()) return Bad(seq, shape.message());
  if (reader.getSeq() != seq) {
    return Bad(seq, absl::StrCat("expected seq ", seq, ", found ", reader.getSeq(),
                                 " (an event is missing, duplicated or out of order)"));
  }
  Hash hash = ChainHash(bytes);
  bool links = Fixed<32>(reader.getPrevHash()) == summary_.head.chain_hash;
  if (unresolved_break_ != 0) {
    // The previous event did not link to its predecessor. If this one links
    // to it, the previous event is intact and its predecessor was altered.
    return links ? Bad(unresolved_break_ - 1,
                       "the event's bytes do not hash to what its successor holds")
                 : Bad(unresolved_break_, "the chain breaks here (prev hash altered)");
  }
  if (!links) {
    if (seq == 1) return Bad(seq, "the first event's prev hash is not 32 zero bytes");
    unresolved_break_ = seq;
  }

  auto body = ParsedBody::Parse(AsView(reader.getBody()), kEventBodyBytesMax);
  if (!body.ok()) return Bad(seq, body.status().message());
  absl::Status body_shape = ValidateBodyShape(body->get());
  if (!body_shape.ok()) return Bad(seq, body_shape.message());
  if (absl::string_view(reader.getStream().cStr(), reader.getStream().size()) !=
      absl::string_view(body->get().getStream().cStr(), body->get().getStream().size())) {
    return Bad(seq, "the envelope's stream differs from the signed body's");
  }
  // Compare times only with a predecessor this event links to: after a break
  // the predecessor's time is unverified (it may be the altered field), and
  // the break itself names the altered event once it is resolved.
  if (links && reader.getAppendedAtUs() < last_appended_us_) {
    return Bad(seq, "appended-at time goes backwards");
  }
  last_appended_us_ = reader.getAppendedAtUs();

  KeyId signer = Fixed<32>(reader.getSignerKeyId());
  auto kind = body->get().which();
  auto role = keys_.Authorize(signer, kind, seq);
  if (!role.ok()) return Bad(seq, role.status().message());
  std::shared_ptr<const VerifyingKey> key;
  if (seq == 1) {
    auto declared = body->get().getLedgerInitialized().getLedgerPublicKey();
    if (declared.size() != 32) return Bad(seq, "the ledger key is not 32 bytes");
    summary_.ledger_key = Fixed<32>(declared);
    if (options_.ledger_key.has_value() && *options_.ledger_key != summary_.ledger_key) {
      return Bad(seq, "this log was initialised with a different ledger key than the one trusted");
    }
    auto parsed = VerifyingKey::FromRaw(summary_.ledger_key);
    if (!parsed.ok()) return Bad(seq, parsed.status().message());
    key = std::make_shared<const VerifyingKey>(std::move(*parsed));
  } else {
    key = keys_.FindKey(signer);
  }
  if (key == nullptr) return Bad(seq, "unknown signer");
  jobs.push_back(SignatureJob{.seq = seq,
                              .key = std::move(key),
                              .message = EventSigningMessage(AsView(reader.getBody())),
                              .signature = Fixed<64>(reader.getSignature())});

  std::array<uint8_t, 16> idempotency{};
  {
    std::string material(reinterpret_cast<const char*>(signer.data()), signer.size());
    // The whole key, as the ledger's index keys it: a key may contain NUL.
    auto key = body->get().getIdempotencyKey();
    material.append(key.cStr(), key.size());
    Hash digest = Sha256(material);
    std::memcpy(idempotency.data(), digest.data(), idempotency.size());
  }
  if (!idempotency_seen_.insert(idempotency).second) {
    return Bad(seq, "this signer's idempotency key was already used: a request executed twice");
  }

  PendingEvent pending{.seq = seq,
                       .appended_at_us = reader.getAppendedAtUs(),
                       .signer = signer,
                       .signer_role = *role,
                       .body = body->get(),
                       .body_bytes = AsView(reader.getBody()),
                       .request_digest = {}};
  absl::Status allowed = keys_.Check(pending);
  if (!allowed.ok()) return Bad(seq, allowed.message());
  StateWriter discard(nullptr, nullptr);
  keys_.Apply(pending, discard);

  summary_.head = Head{.seq = seq, .chain_hash = hash};
  ++summary_.events;
  if (unresolved_break_ == 0) WL_RETURN_IF_ERROR(CheckCheckpointAt(seq, hash));
  return absl::OkStatus();
}

absl::Status Verifier::AddEnvelopes(const std::vector<std::string>& envelopes) {
  WL_RETURN_IF_ERROR(failed_);
  std::vector<SignatureJob> jobs;
  jobs.reserve(envelopes.size());
  absl::Status status;
  for (const std::string& bytes : envelopes) {
    status = CheckOne(bytes, jobs);
    if (!status.ok()) break;
  }
  pool_->Add(std::move(jobs));
  if (status.ok()) return absl::OkStatus();
  // A bad signature before the first other problem is the first problem.
  std::optional<uint64_t> bad = DrainSignatures();
  failed_ = bad.has_value() ? Bad(*bad, "bad signature") : status;
  return failed_;
}

std::optional<uint64_t> Verifier::DrainSignatures() { return pool_->Drain(); }

absl::Status Verifier::CheckPendingSignatures() {
  WL_RETURN_IF_ERROR(failed_);
  if (std::optional<uint64_t> bad = DrainSignatures(); bad.has_value()) {
    failed_ = Bad(*bad, "bad signature");
  }
  return failed_;
}

absl::StatusOr<VerifySummary> Verifier::Finish() {
  WL_RETURN_IF_ERROR(failed_);
  if (std::optional<uint64_t> bad = DrainSignatures(); bad.has_value()) {
    failed_ = Bad(*bad, "bad signature");
    return failed_;
  }
  if (unresolved_break_ != 0) {
    // The last event does not link to its predecessor and has no successor:
    // a signed checkpoint over it tells which of the two was altered.
    auto it = checkpoints_.find(unresolved_break_);
    if (it != checkpoints_.end() && it->second.first == summary_.head.chain_hash) {
      return Bad(unresolved_break_ - 1,
                 "the event's bytes do not hash to what its successor holds");
    }
    return Bad(unresolved_break_, "the chain breaks here");
  }
  if (!checkpoints_.empty() && checkpoints_.rbegin()->first > summary_.head.seq) {
    return Bad(summary_.head.seq + 1, absl::StrCat("missing: a signed checkpoint covers seq ",
                                                   checkpoints_.rbegin()->first,
                                                   " but the log ends at ", summary_.head.seq));
  }
  if (summary_.events == 0) return absl::DataLossError("the log is empty");
  return summary_;
}

absl::StatusOr<VerifySummary> VerifyStore(const EventStore& store, const VerifyOptions& options) {
  Verifier verifier(options);
  WL_ASSIGN_OR_RETURN(auto checkpoints, store.ReadCheckpoints(0, SIZE_MAX));
  for (const auto& checkpoint : checkpoints)
    WL_RETURN_IF_ERROR(verifier.AddCheckpoint(checkpoint.canonical));
  WL_ASSIGN_OR_RETURN(Head head, store.GetHead());
  for (uint64_t seq = 1; seq <= head.seq;) {
    WL_ASSIGN_OR_RETURN(auto envelopes, store.ReadRange(seq, 8192));
    if (envelopes.empty()) return Bad(seq, "missing from the store");
    if (envelopes.size() > head.seq - seq + 1) envelopes.resize(head.seq - seq + 1);
    WL_RETURN_IF_ERROR(verifier.AddEnvelopes(envelopes));
    seq += envelopes.size();
  }
  WL_ASSIGN_OR_RETURN(VerifySummary summary, verifier.Finish());
  if (summary.head.chain_hash != head.chain_hash) {
    return Bad(head.seq, "the chain does not end at the stored head hash");
  }
  return summary;
}

}  // namespace wattledger::ledger
