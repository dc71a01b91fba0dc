// Running the project's binaries from tests the way a user would: a command
// with its output captured, or a server in the background whose stderr is
// read line by line (wattd logs its listening address there).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace wattledger::testing {

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string out;
  std::string err;
};

// Runs `argv` to completion (at most `timeout`; then it is killed).
CommandResult RunCommand(const std::vector<std::string>& argv,
                         absl::Duration timeout = absl::Seconds(60),
                         const std::string& working_dir = "");

// A process in the background; killed (SIGKILL) and reaped on destruction
// unless stopped first.
class BackgroundProcess {
 public:
  explicit BackgroundProcess(const std::vector<std::string>& argv);
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  // Reads stderr until a line contains `needle`; returns that line, or ""
  // after `timeout` or at end of output.
  std::string WaitForStderrLine(const std::string& needle, absl::Duration timeout);
  // Sends `signal` and waits (bounded) for exit; returns the exit code, or -1.
  int Stop(int signal, absl::Duration timeout = absl::Seconds(20));
  // Everything read from stderr so far.
  const std::string& stderr_text() const { return stderr_text_; }

 private:
  pid_t pid_ = -1;
  int stderr_fd_ = -1;
  std::string stderr_text_;
  size_t scanned_ = 0;
};

// Starts `wattd_path --data data_dir` on a free loopback port and waits until
// it listens; `address` is then its host:port. Empty `address` on failure
// (the process's stderr says why). `extra_args` follow; by default the meter
// side is off, so a simulated building on this machine cannot feed a test
// readings it does not expect.
struct RunningWattd {
  std::unique_ptr<BackgroundProcess> process;
  std::string address;
};
RunningWattd StartWattd(const std::string& wattd_path, const std::string& data_dir,
                        const std::vector<std::string>& extra_args = {"--ingest=false"});

// Sends one line to a meter-sim control port ("127.0.0.1:PORT") and returns
// its reply line, "" when it cannot (every socket call bounded by 5 s).
std::string SimulatorControl(const std::string& address, const std::string& line);

}  // namespace wattledger::testing
