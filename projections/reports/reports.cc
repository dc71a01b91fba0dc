#include "projections/reports/reports.h"

#include "absl/strings/str_cat.h"
#include "ledger/status_macros.h"
#include "projections/reports/consumption.h"
#include "projections/reports/deposits.h"
#include "projections/reports/refunds.h"
#include "projections/reports/settlement.h"

namespace wattledger::projections::reports {

std::vector<std::string> ReportNames() {
  return {kConsumptionReport, kDepositsReport, kRefundsReport, kSettlementReport};
}

std::vector<std::string> ReportFamilies() {
  std::vector<std::string> families;
  for (const std::string& name : ReportNames()) families.push_back(ledger::ProjectionFamily(name));
  return families;
}

absl::StatusOr<std::unique_ptr<ReportRunners>> ReportRunners::Start(ledger::Ledger& ledger,
                                                                    bool rebuild) {
  std::unique_ptr<ReportRunners> runners(new ReportRunners());
  runners->projections_.push_back(std::make_unique<ConsumptionReport>());
  runners->projections_.push_back(std::make_unique<DepositsReport>());
  runners->projections_.push_back(std::make_unique<RefundsReport>());
  runners->projections_.push_back(std::make_unique<SettlementReport>());
  for (auto& projection : runners->projections_) {
    auto runner = ledger::CatchUpRunner::Start(ledger, projection.get(), rebuild);
    if (!runner.ok()) {
      return absl::Status(runner.status().code(), absl::StrCat("starting ", projection->name(),
                                                               ": ", runner.status().message()));
    }
    runners->runners_.push_back(std::move(*runner));
  }
  return runners;
}

ReportRunners::~ReportRunners() { (void)Stop(); }

bool ReportRunners::WaitFor(uint64_t seq, absl::Duration timeout) const {
  absl::Time deadline = absl::Now() + timeout;
  for (const auto& runner : runners_) {
    if (!runner->WaitFor(seq, std::max(deadline - absl::Now(), absl::ZeroDuration()))) return false;
  }
  return true;
}

absl::Status ReportRunners::status() const {
  for (size_t i = 0; i < runners_.size(); ++i) {
    absl::Status status = runners_[i]->status();
    if (!status.ok()) {
      return absl::Status(status.code(),
                          absl::StrCat(projections_[i]->name(), ": ", status.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status ReportRunners::Stop() {
  absl::Status status = this->status();
  runners_.clear();
  return status;
}

}  // namespace wattledger::projections::reports
