// The rpc::CardCenter interface (api/rpc/card_center.capnp): the campus
// one-card center's rooms directory, balances, deposits and reversals by
// trade number, trade status, the signed daily settlement and
// reconciliation. Runs on the RPC server's event loop; reads the domain's
// projections, submits to the ledger's queue and never blocks the writer.
#pragma once

#include <kj/timer.h>

#include "api/rpc/card_center.capnp.h"
#include "ledger/ledger.h"

namespace wattledger::projections {
class Domain;
namespace reports {
class ReportRunners;
}
}  // namespace wattledger::projections

namespace wattledger::rpc {

// `reports`, when given, is waited for (on `timer`, never blocking) so a
// settlement includes everything up to the head; null: read as stored.
CardCenter::Client MakeCardCenterService(ledger::Ledger& ledger, const projections::Domain& domain,
                                         const projections::reports::ReportRunners* reports,
                                         kj::Timer& timer);

}  // namespace wattledger::rpc
