// The rpc::Ledger interface (api/rpc/ledger.capnp) over one Ledger, and the
// pieces every service uses to submit from Cap'n Proto's event loop.
#pragma once

#include <kj/async.h>
#include <kj/timer.h>

#include "absl/status/statusor.h"
#include "api/rpc/ledger.capnp.h"
#include "ledger/ledger.h"

namespace wattledger::rpc {

// `timer` paces subscriptions that have caught up with the head.
Ledger::Client MakeLedgerService(ledger::Ledger& ledger, kj::Timer& timer);

// The outcome crosses threads boxed: GCC 12 misreads StatusOr's union inside
// kj's cross-thread fulfiller as maybe-uninitialized.
using BoxedOutcome = kj::Own<absl::StatusOr<ledger::AppendResult>>;

// Submits `request` to the ledger's queue and resolves on the calling event
// loop when the ledger completes it; never blocks the loop or the writer.
kj::Promise<BoxedOutcome> SubmitFromLoop(ledger::Ledger& ledger, ledger::SignedRequest request);

// The wire form of a signed request; kInvalidArgument for wrong sizes.
absl::StatusOr<ledger::SignedRequest> ToSignedRequest(SignedRequest::Reader params);

}  // namespace wattledger::rpc
