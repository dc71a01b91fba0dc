// The report projections as wattd runs them: the families the ledger must
// open (LedgerOptions.projection_families) and one CatchUpRunner per report,
// started after the ledger opens and stopped before it stops.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ledger/ledger.h"
#include "ledger/subscription.h"

namespace wattledger::projections::reports {

// The names of the stored reports: consumption, deposits, refunds, settlement.
std::vector<std::string> ReportNames();
// Their families, "proj.<name>", for LedgerOptions.projection_families.
std::vector<std::string> ReportFamilies();

class ReportRunners {
 public:
  // Starts every report on `ledger`, which must have been opened with
  // ReportFamilies() and must outlive the runners. `rebuild` clears each
  // report's family and applies the log again from seq 1.
  static absl::StatusOr<std::unique_ptr<ReportRunners>> Start(ledger::Ledger& ledger,
                                                              bool rebuild = false);
  ~ReportRunners();  // stops the runners
  ReportRunners(const ReportRunners&) = delete;
  ReportRunners& operator=(const ReportRunners&) = delete;

  // Blocks until every report has applied `seq` (true), one failed, or
  // `timeout` passed.
  bool WaitFor(uint64_t seq, absl::Duration timeout) const;
  // The first report's error, or OK.
  absl::Status status() const;
  // Stops and joins the runners (idempotent); returns status() as it was.
  absl::Status Stop();

 private:
  ReportRunners() = default;
  // Declared first so the runners (which call them) are destroyed first.
  std::vector<std::unique_ptr<ledger::CatchUpProjection>> projections_;
  std::vector<std::unique_ptr<ledger::CatchUpRunner>> runners_;
};

}  // namespace wattledger::projections::reports
