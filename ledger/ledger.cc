#include "ledger/ledger.h"

#include <deque>

#include "absl/strings/str_cat.h"
#include "ledger/internal/chain_break.h"
#include "ledger/internal/event_stager.h"
#include "ledger/status_macros.h"
#include "ledger/structured_log.h"

namespace wattledger::ledger {

struct Ledger::Item {
  SignedRequest request;
  Completion done;
  std::optional<ParsedBody> body;  // set once the signature checked out
  Hash request_digest{};           // RequestDigest(body), computed beside the signature check
  absl::StatusOr<AppendResult> outcome = absl::UnknownError("not processed");
};

// A bounded multi-producer queue of items with batch pops.
class Ledger::Queue {
 public:
  explicit Queue(size_t depth_max) : depth_max_(depth_max) {}

  // False when the queue is full or closed; the item is left with the caller.
  bool Push(std::unique_ptr<Item>& item) {
    absl::MutexLock lock(&mu_);
    if (closed_ || items_.size() >= depth_max_) return false;
    items_.push_back(std::move(item));
    return true;
  }

  // Waits until an item arrives, the queue closes or `deadline` passes, then
  // takes up to `max` items. `drained` is set when closed and empty.
  std::vector<std::unique_ptr<Item>> PopBatch(size_t max, absl::Time deadline, bool& drained) {
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return closed_ || !items_.empty(); };
    mu_.AwaitWithDeadline(absl::Condition(&ready), deadline);
    std::vector<std::unique_ptr<Item>> out;
    while (!items_.empty() && out.size() < max) {
      out.push_back(std::move(items_.front()));
      items_.pop_front();
    }
    drained = closed_ && items_.empty() && out.empty();
    return out;
  }

  void Close() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }

 private:
  const size_t depth_max_;
  absl::Mutex mu_;
  std::deque<std::unique_ptr<Item>> items_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

struct Ledger::BatchContext {
  rocksdb::WriteBatch batch;
  Head head;
  int64_t now_us = 0;
  // Idempotency records staged in this batch, by signer || key.
  absl::flat_hash_map<std::string, IdempotencyRecord> idempotency;
};

namespace {

std::string IdempotencyMapKey(const KeyId& signer, absl::string_view key) {
  return absl::StrCat(absl::string_view(reinterpret_cast<const char*>(signer.data()), 32), key);
}

}  // namespace

Ledger::Ledger(LedgerOptions options) : options_(std::move(options)) {
  if (options_.clock == nullptr) options_.clock = &system_clock_;
  projections_.push_back(&keys_);
  for (auto* projection : options_.projections) projections_.push_back(projection);
  verify_queue_ = std::make_unique<Queue>(options_.queue_depth_max);
  writer_queue_ = std::make_unique<Queue>(options_.queue_depth_max);
}

Ledger::~Ledger() { Stop(); }

absl::Status Ledger::Initialize(const LedgerOptions& options, const PublicKey& admin_key,
                                absl::string_view campus_name) {
  if (!options.ledger_key.has_value()) return absl::InvalidArgumentError("no ledger key given");
  StoreOptions store_options{.mode = StoreMode::kPrimary,
                             .create_if_missing = true,
                             .projection_families = options.projection_families,
                             .env = options.env};
  WL_ASSIGN_OR_RETURN(auto store, EventStore::Open(options.data_dir, store_options));
  WL_ASSIGN_OR_RETURN(Head existing, store->GetHead());
  if (existing.seq != 0) {
    return absl::AlreadyExistsError(absl::StrCat("a ledger already exists at ", options.data_dir));
  }
  std::unique_ptr<Ledger> ledger(new Ledger(options));
  ledger->store_ = std::move(store);
  WL_RETURN_IF_ERROR(ledger->keys_.Load(*ledger->store_));
  for (auto* projection : options.projections)
    WL_RETURN_IF_ERROR(projection->Load(*ledger->store_));
  ledger->Start();

  const SigningKey& ledger_key = *options.ledger_key;
  int64_t now_us = ledger->clock().NowMicros();
  {
    capnp::MallocMessageBuilder message;
    auto body = message.initRoot<schema::EventBody>();
    body.setIdempotencyKey("genesis/ledger");
    body.setIssuedAtUs(now_us);
    body.setStream("ledger");
    auto init = body.initLedgerInitialized();
    init.setLedgerPublicKey(AsData(absl::MakeConstSpan(ledger_key.public_key())));
    init.setCampusName(std::string(campus_name));
    WL_RETURN_IF_ERROR(ledger->SubmitAsLedger(Canonical(body.asReader())).get().status());
  }
  {
    capnp::MallocMessageBuilder message;
    auto body = message.initRoot<schema::EventBody>();
    body.setIdempotencyKey("genesis/admin");
    body.setIssuedAtUs(now_us);
    body.setStream("keys");
    auto registered = body.initKeyRegistered();
    registered.setPublicKey(AsData(absl::MakeConstSpan(admin_key)));
    registered.setRole(Role::ADMIN);
    registered.setHolder("first admin");
    WL_RETURN_IF_ERROR(ledger->SubmitAsLedger(Canonical(body.asReader())).get().status());
  }
  ledger->Stop();
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Ledger>> Ledger::Open(LedgerOptions options) {
  if (!options.ledger_key.has_value()) return absl::InvalidArgumentError("no ledger key given");
  std::unique_ptr<Ledger> ledger(new Ledger(std::move(options)));
  WL_RETURN_IF_ERROR(ledger->LoadAndVerifyTail());
  ledger->Start();
  return ledger;
}

absl::Status Ledger::LoadAndVerifyTail() {
  StoreOptions store_options{.mode = StoreMode::kPrimary,
                             .create_if_missing = false,
                             .projection_families = options_.projection_families,
                             .env = options_.env};
  WL_ASSIGN_OR_RETURN(store_, EventStore::Open(options_.data_dir, store_options));
  WL_ASSIGN_OR_RETURN(Head head, store_->GetHead());
  if (head.seq == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(options_.data_dir, " holds no ledger (run `wattctl init` first)"));
  }
  WL_ASSIGN_OR_RETURN(std::string first, store_->GetEvent(1));
  WL_ASSIGN_OR_RETURN(ParsedEnvelope first_envelope,
                      ParsedEnvelope::Parse(first, kEnvelopeBytesMax));
  WL_ASSIGN_OR_RETURN(
      ParsedBody first_body,
      ParsedBody::Parse(AsView(first_envelope.get().getBody()), kEventBodyBytesMax));
  if (!first_body.get().isLedgerInitialized() ||
      AsView(first_body.get().getLedgerInitialized().getLedgerPublicKey()) !=
          absl::string_view(reinterpret_cast<const char*>(ledger_public_key().data()), 32)) {
    return absl::FailedPreconditionError(
        "the ledger key given does not match the one this ledger was initialised with");
  }

  WL_ASSIGN_OR_RETURN(auto checkpoint, store_->LastCheckpoint());
  uint64_t start = 1;
  if (checkpoint.has_value()) {
    auto verifier = VerifyingKey::FromRaw(ledger_public_key());
    WL_CHECK(verifier.ok());
    if (!verifier->Verify(
            AsBytes(CheckpointSigningMessage(checkpoint->seq, checkpoint->chain_hash)),
            checkpoint->signature)) {
      return absl::DataLossError(
          absl::StrCat("the checkpoint at seq ", checkpoint->seq, " has a bad signature"));
    }
    if (checkpoint->seq > head.seq) {
      return absl::DataLossError(absl::StrCat("the checkpoint at seq ", checkpoint->seq,
                                              " is past the stored head ", head.seq));
    }
    start = checkpoint->seq;
    last_checkpoint_seq_ = checkpoint->seq;
  }
  Hash prev{};
  for (uint64_t seq = start; seq <= head.seq;) {
    WL_ASSIGN_OR_RETURN(auto envelopes, store_->ReadRange(seq, 4096));
    if (envelopes.empty()) {
      return absl::DataLossError(absl::StrCat("the event at seq ", seq, " is missing"));
    }
    for (const std::string& bytes : envelopes) {
      auto envelope = ParsedEnvelope::Parse(bytes, kEnvelopeBytesMax);
      if (!envelope.ok() || envelope->get().getSeq() != seq) {
        return absl::DataLossError(absl::StrCat("the chain breaks at seq ", seq));
      }
      if (seq != start && AsView(envelope->get().getPrevHash()) !=
                              absl::string_view(reinterpret_cast<const char*>(prev.data()), 32)) {
        // Name the altered event, not just where the damage shows.
        uint64_t altered = internal::AlteredAtBreak(*store_, head, seq, ChainHash(bytes));
        if (altered == seq) {
          return absl::DataLossError(absl::StrCat("the chain breaks at seq ", seq));
        }
        return absl::DataLossError(
            absl::StrCat("the event at seq ", altered,
                         " was altered: it does not hash to what its successor holds"));
      }
      prev = ChainHash(bytes);
      // Appended-at times never go backwards, across restarts too.
      last_appended_us_ = std::max(last_appended_us_, envelope->get().getAppendedAtUs());
      if (checkpoint.has_value() && seq == checkpoint->seq && prev != checkpoint->chain_hash) {
        return absl::DataLossError(
            absl::StrCat("the event at seq ", seq, " does not match its signed checkpoint"));
      }
      if (seq == head.seq) break;
      ++seq;
    }
    if (seq == head.seq) break;
  }
  if (prev != head.chain_hash) {
    return absl::DataLossError(
        absl::StrCat("the chain hash at seq ", head.seq, " does not match the stored head"));
  }
  if (store_->GetEvent(head.seq + 1).ok()) {
    return absl::DataLossError(
        absl::StrCat("an event exists past the stored head at seq ", head.seq + 1));
  }
  WL_RETURN_IF_ERROR(keys_.Load(*store_));
  for (auto* projection : options_.projections) WL_RETURN_IF_ERROR(projection->Load(*store_));
  writer_head_ = head;
  {
    absl::MutexLock lock(&head_mu_);
    durable_head_ = head;
  }
  return absl::OkStatus();
}

void Ledger::Start() {
  stager_ = std::make_unique<internal::EventStager>(store_.get(), projections_);
  last_checkpoint_us_ = clock().NowMicros();
  {
    absl::MutexLock lock(&head_mu_);
    writer_head_ = durable_head_;
  }
  for (int i = 0; i < std::max(1, options_.verify_threads); ++i) {
    verify_threads_.emplace_back([this]() { VerifyLoop(); });
  }
  writer_thread_ = std::thread([this]() { WriterLoop(); });
}

void Ledger::Stop() {
  if (stopped_.exchange(true)) return;
  stopping_.store(true);
  verify_queue_->Close();
  for (auto& thread : verify_threads_) {
    if (thread.joinable()) thread.join();
  }
  writer_queue_->Close();
  if (writer_thread_.joinable()) writer_thread_.join();
}

void Ledger::Submit(SignedRequest request, Completion done) {
  if (stopping_.load()) {
    done(absl::UnavailableError("the ledger is shutting down"));
    return;
  }
  auto item = std::make_unique<Item>();
  item->request = std::move(request);
  item->done = std::move(done);
  if (!verify_queue_->Push(item)) {
    item->done(stopping_.load()
                   ? absl::UnavailableError("the ledger is shutting down")
                   : absl::ResourceExhaustedError("the ledger's submit queue is full; retry"));
  }
}

std::future<absl::StatusOr<AppendResult>> Ledger::Submit(SignedRequest request) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<AppendResult>>>();
  auto future = promise->get_future();
  Submit(std::move(request),
         [promise](absl::StatusOr<AppendResult> result) { promise->set_value(std::move(result)); });
  return future;
}

std::future<absl::StatusOr<AppendResult>> Ledger::SubmitAsLedger(std::string body) {
  SignedRequest request;
  request.signer_key_id = options_.ledger_key->key_id();
  request.signature = options_.ledger_key->Sign(AsBytes(EventSigningMessage(body)));
  request.body = std::move(body);
  return Submit(std::move(request));
}

Head Ledger::head() const {
  absl::MutexLock lock(&head_mu_);
  return durable_head_;
}

Head Ledger::WaitForHeadAbove(uint64_t seq, absl::Duration timeout) const {
  absl::MutexLock lock(&head_mu_);
  auto passed = [this, seq]() ABSL_SHARED_LOCKS_REQUIRED(head_mu_) {
    return durable_head_.seq > seq || !failed_.ok();
  };
  head_mu_.AwaitWithTimeout(absl::Condition(&passed), timeout);
  return durable_head_;
}

void Ledger::VerifyLoop() {
  while (true) {
    bool drained = false;
    auto items = verify_queue_->PopBatch(16, absl::InfiniteFuture(), drained);
    if (drained) return;
    for (auto& item : items) {
      const SignedRequest& request = item->request;
      auto body = ParsedBody::Parse(request.body, kEventBodyBytesMax);
      absl::Status status = body.status();
      if (status.ok()) status = ValidateBodyShape(body->get());
      std::shared_ptr<const VerifyingKey> key;
      if (status.ok()) {
        if (body->get().isLedgerInitialized()) {
          auto raw = body->get().getLedgerInitialized().getLedgerPublicKey();
          PublicKey declared{};
          if (raw.size() == declared.size()) std::memcpy(declared.data(), raw.begin(), raw.size());
          auto parsed = VerifyingKey::FromRaw(declared);
          if (parsed.ok()) key = std::make_shared<const VerifyingKey>(std::move(*parsed));
        } else {
          key = keys_.FindKey(request.signer_key_id);
        }
        if (key == nullptr || key->key_id() != request.signer_key_id) {
          status = absl::UnauthenticatedError(
              absl::StrCat("unknown signing key ",
                           ToHex(absl::MakeConstSpan(request.signer_key_id)).substr(0, 16)));
        } else if (!key->Verify(AsBytes(EventSigningMessage(request.body)), request.signature)) {
          status = absl::UnauthenticatedError("bad signature");
        }
      }
      if (!status.ok()) {
        item->done(status);
        continue;
      }
      item->request_digest = RequestDigest(body->get());
      item->body = std::move(*body);
      if (!writer_queue_->Push(item)) {
        item->done(absl::ResourceExhaustedError("the ledger's writer queue is full; retry"));
      }
    }
  }
}

void Ledger::WriterLoop() {
  while (true) {
    bool drained = false;
    absl::Time deadline = absl::Now() + absl::Microseconds(options_.checkpoint_every_us);
    auto items = writer_queue_->PopBatch(kWriterBatchEventsMax, deadline, drained);
    if (drained) {
      WriteFinalCheckpoint();
      return;
    }
    CommitBatch(items);
  }
}

// A clean shutdown leaves the head covered by a signed checkpoint, so an
// export taken afterwards proves its last event too.
void Ledger::WriteFinalCheckpoint() {
  {
    absl::MutexLock lock(&head_mu_);
    if (!failed_.ok()) return;
  }
  BatchContext context;
  context.head = writer_head_;
  context.now_us = std::max(clock().NowMicros(), last_appended_us_);
  StageCheckpointIfDue(context, /*force=*/true);
  if (context.batch.Count() == 0) return;
  absl::Status written = store_->Write(context.batch);
  if (!written.ok()) Fail(written);
}

void Ledger::Fail(absl::Status status) {
  LogEvent("error", "ledger_write_failed",
           {{"status", std::string(status.ToString())}, {"durable_head_seq", head().seq}});
  absl::MutexLock lock(&head_mu_);
  if (failed_.ok()) {
    failed_ = absl::UnavailableError(
        absl::StrCat("the ledger stopped appending after a storage error: ", status.message()));
  }
}

void Ledger::CommitBatch(std::vector<std::unique_ptr<Item>>& items) {
  absl::Status failed;
  {
    absl::MutexLock lock(&head_mu_);
    failed = failed_;
  }
  BatchContext context;
  context.head = writer_head_;
  // Appended-at times never go backwards, even if the wall clock does.
  context.now_us = std::max(clock().NowMicros(), last_appended_us_);
  last_appended_us_ = context.now_us;
  for (auto& item : items) {
    item->outcome = failed.ok() ? Admit(*item, context) : absl::StatusOr<AppendResult>(failed);
  }
  if (failed.ok()) StageCheckpointIfDue(context, /*force=*/false);
  if (failed.ok()) stager_->Flush(context.batch);
  if (failed.ok() && context.batch.Count() > 0) {
    store_->StageHead(context.batch, context.head);
    const absl::Time started = absl::Now();
    absl::Status written = store_->Write(context.batch);
    if (written.ok()) {
      metrics_.RecordCommit(absl::Now() - started, context.head.seq - writer_head_.seq);
    } else {
      metrics_.commit_failures.fetch_add(1, std::memory_order_relaxed);
    }
    if (!written.ok()) {
      Fail(written);
      absl::MutexLock lock(&head_mu_);
      for (auto& item : items) item->outcome = failed_;
    } else {
      writer_head_ = context.head;
      absl::MutexLock lock(&head_mu_);
      durable_head_ = context.head;
    }
  }
  for (auto& item : items) item->done(std::move(item->outcome));
}

absl::StatusOr<AppendResult> Ledger::Admit(Item& item, BatchContext& context) {
  const SignedRequest& request = item.request;
  auto body = item.body->get();
  uint64_t seq = context.head.seq + 1;
  WL_ASSIGN_OR_RETURN(Role role, keys_.Authorize(request.signer_key_id, body.which(), seq));

  absl::string_view idempotency_key(body.getIdempotencyKey().cStr(),
                                    body.getIdempotencyKey().size());
  const Hash& request_digest = item.request_digest;
  std::string map_key = IdempotencyMapKey(request.signer_key_id, idempotency_key);
  std::optional<IdempotencyRecord> first;
  if (auto it = context.idempotency.find(map_key); it != context.idempotency.end()) {
    first = it->second;
  } else {
    WL_ASSIGN_OR_RETURN(first, store_->GetIdempotency(request.signer_key_id, idempotency_key));
  }
  if (first.has_value()) {
    if (first->request_digest != request_digest) {
      return absl::AlreadyExistsError(absl::StrCat("idempotency key '", idempotency_key,
                                                   "' was already used with another body (seq ",
                                                   first->seq, ")"));
    }
    return AppendResult{.seq = first->seq,
                        .chain_hash = first->chain_hash,
                        .result = first->result,
                        .duplicate = true};
  }

  int64_t skew_us = body.getIssuedAtUs() - context.now_us;
  if (skew_us > options_.time_window_us || -skew_us > options_.time_window_us) {
    return absl::OutOfRangeError(absl::StrCat("issued-at time is ", skew_us / 1000000,
                                              " s from the ledger clock; the window is ±",
                                              options_.time_window_us / 1000000, " s"));
  }

  if (request.expected_stream_version.has_value()) {
    std::string stream(body.getStream().cStr(), body.getStream().size());
    WL_ASSIGN_OR_RETURN(uint64_t current, stager_->StreamVersion(stream));
    if (current != *request.expected_stream_version) {
      return absl::AbortedError(absl::StrCat("stream '", stream, "' is at version ", current,
                                             ", not the expected ",
                                             *request.expected_stream_version));
    }
  }

  PendingEvent pending{.seq = seq,
                       .appended_at_us = context.now_us,
                       .signer = request.signer_key_id,
                       .signer_role = role,
                       .body = body,
                       .body_bytes = request.body,
                       .request_digest = request_digest};
  WL_RETURN_IF_ERROR(stager_->Check(pending));
  AppendResult result = StageEvent(request, pending, context);
  context.idempotency[map_key] = IdempotencyRecord{.seq = result.seq,
                                                   .request_digest = request_digest,
                                                   .chain_hash = result.chain_hash,
                                                   .result = result.result};
  return result;
}

AppendResult Ledger::StageEvent(const SignedRequest& request, const PendingEvent& pending,
                                BatchContext& context) {
  const uint64_t seq = pending.seq;
  WL_CHECK(seq == context.head.seq + 1);
  WL_CHECK(pending.appended_at_us == context.now_us);
  capnp::MallocMessageBuilder message;
  auto envelope = message.initRoot<schema::Envelope>();
  envelope.setSeq(seq);
  envelope.setStream(pending.body.getStream());
  envelope.setAppendedAtUs(context.now_us);
  envelope.setSignerKeyId(AsData(absl::MakeConstSpan(request.signer_key_id)));
  envelope.setSignature(AsData(absl::MakeConstSpan(request.signature)));
  envelope.setPrevHash(AsData(absl::MakeConstSpan(context.head.chain_hash)));
  envelope.setBody(AsData(request.body));
  std::string bytes = Canonical(envelope.asReader());
  Hash chain_hash = ChainHash(bytes);
  Applied applied = stager_->Stage(context.batch, pending, bytes, chain_hash);
  AppendResult result{.seq = seq, .chain_hash = chain_hash, .result = applied.result};
  context.head = Head{.seq = seq, .chain_hash = chain_hash};

  // Events the projections derived are signed by the ledger key and must be
  // accepted: refusing what our own rules derived is a bug, so stop.
  for (std::string& derived_body : applied.derived_bodies) {
    SignedRequest derived;
    derived.signer_key_id = options_.ledger_key->key_id();
    derived.signature = options_.ledger_key->Sign(AsBytes(EventSigningMessage(derived_body)));
    derived.body = std::move(derived_body);
    auto derived_parsed = ParsedBody::Parse(derived.body, kEventBodyBytesMax);
    WL_CHECK(derived_parsed.ok());
    auto derived_role =
        keys_.Authorize(derived.signer_key_id, derived_parsed->get().which(), context.head.seq + 1);
    WL_CHECK(derived_role.ok());
    PendingEvent derived_pending{.seq = context.head.seq + 1,
                                 .appended_at_us = context.now_us,
                                 .signer = derived.signer_key_id,
                                 .signer_role = *derived_role,
                                 .body = derived_parsed->get(),
                                 .body_bytes = derived.body,
                                 .request_digest = RequestDigest(derived_parsed->get())};
    WL_CHECK(stager_->Check(derived_pending).ok());
    StageEvent(derived, derived_pending, context);
  }
  result.derived = context.head.seq - seq;
  return result;
}

void Ledger::StageCheckpointIfDue(BatchContext& context, bool force) {
  uint64_t seq = context.head.seq;
  if (seq == 0 || seq <= last_checkpoint_seq_) return;
  bool by_count = seq - last_checkpoint_seq_ >= options_.checkpoint_every_events;
  bool by_time = context.now_us - last_checkpoint_us_ >= options_.checkpoint_every_us;
  if (!by_count && !by_time && !force) return;
  StoredCheckpoint checkpoint;
  checkpoint.seq = seq;
  checkpoint.chain_hash = context.head.chain_hash;
  checkpoint.signature =
      options_.ledger_key->Sign(AsBytes(CheckpointSigningMessage(seq, context.head.chain_hash)));
  capnp::MallocMessageBuilder message;
  auto reader = message.initRoot<schema::Checkpoint>();
  reader.setSeq(seq);
  reader.setChainHash(AsData(absl::MakeConstSpan(checkpoint.chain_hash)));
  reader.setSignature(AsData(absl::MakeConstSpan(checkpoint.signature)));
  checkpoint.canonical = Canonical(reader.asReader());
  store_->StageCheckpoint(context.batch, checkpoint);
  last_checkpoint_seq_ = seq;
  last_checkpoint_us_ = context.now_us;
}

}  // namespace wattledger::ledger
