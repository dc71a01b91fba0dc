// The rpc::Ledger interface (api/rpc/ledger.capnp) over one Ledger, with its
// sessions (challenge, authenticate, then the log's reads and the operators'
// queries by the key's role), and the pieces every service uses to submit
// from Cap'n Proto's event loop.
#pragma once

#include <kj/async.h>
#include <kj/timer.h>

#include "absl/status/statusor.h"
#include "api/rpc/ledger.capnp.h"
#include "ledger/ledger.h"

namespace wattledger::projections {
class Domain;
namespace reports {
class ReportRunners;
}
}  // namespace wattledger::projections

namespace wattledger::rpc {

struct LedgerServiceOptions {
  // Serve the log's reads (events, checkpoints, keys, subscribe) without a
  // session: only on a plaintext loopback endpoint.
  bool open_reads = false;
  // What sessions' queries read; null: queries other than the log's are refused.
  const projections::Domain* domain = nullptr;
  // Waited for (off the loop) so a report query includes the head.
  const projections::reports::ReportRunners* reports = nullptr;
  std::string scratch_dir{};  // where a balances query replays; "": the temp dir
};

// `timer` paces subscriptions that have caught up with the head. Queries run
// on a worker thread of their own, never on the loop.
Ledger::Client MakeLedgerService(ledger::Ledger& ledger, kj::Timer& timer,
                                 LedgerServiceOptions options = {});

// The outcome crosses threads boxed: GCC 12 misreads StatusOr's union inside
// kj's cross-thread fulfiller as maybe-uninitialized.
using BoxedOutcome = kj::Own<absl::StatusOr<ledger::AppendResult>>;

// Submits `request` to the ledger's queue and resolves on the calling event
// loop when the ledger completes it; never blocks the loop or the writer.
kj::Promise<BoxedOutcome> SubmitFromLoop(ledger::Ledger& ledger, ledger::SignedRequest request);

// The wire form of a signed request; kInvalidArgument for wrong sizes.
absl::StatusOr<ledger::SignedRequest> ToSignedRequest(SignedRequest::Reader params);

}  // namespace wattledger::rpc
