// A room's arrears level as the control policies just moved it, handed by the
// Domain to the notification outbox within the same Apply (derived events
// derive nothing, so the outbox cannot learn it from ArrearsLevelChanged).
#pragma once

#include <cstdint>
#include <string>

#include "ledger/schema/event.capnp.h"

namespace wattledger::projections {

struct ArrearsChange {
  std::string room_id;
  schema::ArrearsLevel level = schema::ArrearsLevel::NORMAL;
  schema::ArrearsLevel previous = schema::ArrearsLevel::NORMAL;
  int64_t balance_fen = 0;
  int64_t threshold_fen = 0;
  int64_t cut_deferred_until_us = 0;  // a cut waiting for a no-cut window to end
  int64_t at_us = 0;                  // the ledger time of the event that moved it
  bool restored = false;              // the arrears cut was lifted (power restored)
};

}  // namespace wattledger::projections
