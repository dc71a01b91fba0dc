// wattctl's subcommands as library functions over parsed flags, so main()
// stays a dispatcher. Each returns the process exit code: 0 success, 1 a
// refusal or failed check (printed), 2 bad usage.
#pragma once

#include <string>
#include <vector>

#include "api/query/query.h"

namespace wattledger::wattctl {

int Init();
int Keygen();
int TlsInit();
int KeyRegister();
int KeyRevoke();
int KeyList();
int Head();
int Log();
int Verify();
int Export();

// Campus commands (domain_commands.cc).
int BuildingAdd();
int GatewayAdd();
int RoomAdd();
int OccupantAssign();
int OccupantMoveOut();
int MeterInstall();
int MeterReplace();
int TariffSet();
int OverdraftSet();
int Deposit();
int Reverse();
int Refund();
int Exchange();
int Readings();
int ControlCut();
int ControlRestore();
int ControlClosePermit();
int ControlKeepPower();
int ControlKeepPowerClear();
int ControlParams();
int ControlPolicySet();
// dlt645_command.cc: `dlt645 decode HEX` and `dlt645 encode read|control|time|write|address`.
int Dlt645Decode(const std::string& hex);
int Dlt645Encode(const std::string& what);
int Import();    // import_command.cc
int SeedDemo();  // seed_demo.cc

// query_command.cc: the read-only views, each a query (api/query/) answered
// by wattd in a session (--key) or from a data directory (--data).
int RunQuery(const query::Query& query);
int RoomShow();
int RoomBalance();
int RoomStatus();
int ControlWhy();
int ControlShow();
int DeviceStatusShow();
int ViolationList();
int AlarmList();
int NotificationList();
// `which` is consumption, violations, deposits, refunds, settlement or balances.
int Report(const std::string& which);

}  // namespace wattledger::wattctl
