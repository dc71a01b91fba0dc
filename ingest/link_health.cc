#include "ingest/link_health.h"

#include "absl/strings/str_cat.h"

namespace wattledger::ingest {

std::optional<LinkChange> LinkHealth::Observe(PollOutcome outcome) {
  switch (outcome) {
    case PollOutcome::kOk:
      no_reply_run_ = 0;
      bad_reply_run_ = 0;
      if (recorded_ != schema::LinkState::ONLINE) {
        return LinkChange{schema::LinkState::ONLINE, "answering"};
      }
      return std::nullopt;
    case PollOutcome::kNoReply:
      ++no_reply_run_;
      bad_reply_run_ = 0;
      if (no_reply_run_ >= failed_polls_max_ && recorded_ != schema::LinkState::OFFLINE) {
        return LinkChange{schema::LinkState::OFFLINE,
                          absl::StrCat("no reply to ", no_reply_run_, " polls in a row")};
      }
      return std::nullopt;
    case PollOutcome::kBadReplies:
      ++bad_reply_run_;
      no_reply_run_ = 0;
      if (bad_reply_run_ >= failed_polls_max_ && recorded_ != schema::LinkState::FAULT) {
        return LinkChange{schema::LinkState::FAULT,
                          absl::StrCat("bad replies to ", bad_reply_run_, " polls in a row")};
      }
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace wattledger::ingest
