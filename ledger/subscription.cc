#include "ledger/subscription.h"

#include "absl/strings/str_cat.h"
#include "ledger/limits.h"
#include "ledger/status_macros.h"

namespace wattledger::ledger {
namespace {

constexpr absl::string_view kAppliedThroughKey = "~applied_through";

}  // namespace

Subscription::Subscription(const Ledger& ledger, uint64_t from_seq, Handler handler)
    : ledger_(ledger), handler_(std::move(handler)) {
  delivered_through_.store(from_seq == 0 ? 0 : from_seq - 1);
  thread_ = std::thread([this, from_seq]() { Run(std::max<uint64_t>(from_seq, 1)); });
}

Subscription::~Subscription() {
  Cancel();
  if (thread_.joinable()) thread_.join();
}

void Subscription::Cancel() { cancelled_.store(true); }

absl::Status Subscription::status() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

void Subscription::Run(uint64_t next) {
  while (!cancelled_.load()) {
    Head head = ledger_.WaitForHeadAbove(next - 1, absl::Milliseconds(100));
    if (head.seq < next) continue;
    auto envelopes =
        ledger_.store().ReadRange(next, std::min<uint64_t>(kReadEventsMax, head.seq - next + 1));
    absl::Status status = envelopes.status();
    if (status.ok()) status = handler_(next, *envelopes);
    if (!status.ok()) {
      absl::MutexLock lock(&mu_);
      status_ = status;
      return;
    }
    next += envelopes->size();
    delivered_through_.store(next - 1);
  }
}

void ProjectionWriter::Put(absl::string_view key, absl::string_view value) {
  WL_CHECK(batch_
               ->Put(family_, rocksdb::Slice(key.data(), key.size()),
                     rocksdb::Slice(value.data(), value.size()))
               .ok());
}

void ProjectionWriter::Delete(absl::string_view key) {
  WL_CHECK(batch_->Delete(family_, rocksdb::Slice(key.data(), key.size())).ok());
}

absl::StatusOr<std::unique_ptr<CatchUpRunner>> CatchUpRunner::Start(Ledger& ledger,
                                                                    CatchUpProjection* projection,
                                                                    bool rebuild) {
  EventStore& store = ledger.mutable_store();
  rocksdb::ColumnFamilyHandle* family = store.family(ProjectionFamily(projection->name()));
  if (rebuild) {
    rocksdb::WriteBatch clear;
    WL_CHECK(
        clear.DeleteRange(family, rocksdb::Slice(""), rocksdb::Slice("\xff\xff\xff\xff", 4)).ok());
    WL_RETURN_IF_ERROR(store.Write(clear));
  }
  WL_RETURN_IF_ERROR(projection->Load(store, family));
  std::string value;
  uint64_t applied = 0;
  rocksdb::Status got =
      store.db()->Get(rocksdb::ReadOptions(), family,
                      rocksdb::Slice(kAppliedThroughKey.data(), kAppliedThroughKey.size()), &value);
  if (got.ok() && value.size() == 8) {
    applied = GetU64BigEndian(value);
  } else if (!got.IsNotFound()) {
    WL_RETURN_IF_ERROR(FromRocks(got, "reading a projection's applied-through seq"));
  }
  std::unique_ptr<CatchUpRunner> runner(new CatchUpRunner());
  auto handler = [&store, projection, family](uint64_t first_seq,
                                              const std::vector<std::string>& envelopes) {
    rocksdb::WriteBatch batch;
    ProjectionWriter writer(&batch, family);
    uint64_t seq = first_seq;
    for (const std::string& bytes : envelopes) {
      WL_ASSIGN_OR_RETURN(ParsedEnvelope envelope, ParsedEnvelope::Parse(bytes, kEnvelopeBytesMax));
      WL_ASSIGN_OR_RETURN(ParsedBody body,
                          ParsedBody::Parse(AsView(envelope.get().getBody()), kEventBodyBytesMax));
      projection->Apply(envelope.get(), body.get(), writer);
      ++seq;
    }
    std::string through;
    PutU64BigEndian(through, seq - 1);
    writer.Put(kAppliedThroughKey, through);
    return store.Write(batch);
  };
  runner->subscription_ = std::make_unique<Subscription>(ledger, applied + 1, std::move(handler));
  return runner;
}

CatchUpRunner::~CatchUpRunner() = default;

bool CatchUpRunner::WaitFor(uint64_t seq, absl::Duration timeout) const {
  absl::Time deadline = absl::Now() + timeout;
  while (applied_through() < seq) {
    if (absl::Now() > deadline || !status().ok()) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return true;
}

}  // namespace wattledger::ledger
