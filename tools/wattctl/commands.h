// wattctl's subcommands as library functions over parsed flags, so main()
// stays a dispatcher. Each returns the process exit code: 0 success, 1 a
// refusal or failed check (printed), 2 bad usage.
#pragma once

#include <string>
#include <vector>

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
int RoomShow();
int ControlCut();
int ControlRestore();
int ControlClosePermit();
int ControlKeepPower();
int ControlKeepPowerClear();
int ControlParams();
int ControlShow();
int DeviceStatusShow();
// control_policy_command.cc: policies, why a room's power is as it is, violations.
int ControlPolicySet();
int ControlWhy();
int RoomStatus();
int ViolationList();
int AlarmList();         // alarm_command.cc
int NotificationList();  // notification_command.cc
// dlt645_command.cc: `dlt645 decode HEX` and `dlt645 encode read|control|time|write|address`.
int Dlt645Decode(const std::string& hex);
int Dlt645Encode(const std::string& what);
int Import();    // import_command.cc
int SeedDemo();  // seed_demo.cc
// report_command.cc: `which` is consumption, deposits, refunds, settlement or balances.
int Report(const std::string& which);

}  // namespace wattledger::wattctl
