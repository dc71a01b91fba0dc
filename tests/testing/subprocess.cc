#include "tests/testing/subprocess.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/time/clock.h"

extern char** environ;

namespace wattledger::testing {
namespace {

pid_t Spawn(const std::vector<std::string>& argv, int out_fd, int err_fd,
            const std::string& working_dir) {
  std::vector<std::string> args = argv;
  if (!working_dir.empty()) {
    // posix_spawn in glibc 2.36 has no chdir action: go through sh.
    args = {"/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", working_dir};
    args.insert(args.end(), argv.begin(), argv.end());
  }
  std::vector<char*> pointers;
  for (auto& arg : args) pointers.push_back(arg.data());
  pointers.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_fd, STDERR_FILENO);
  pid_t pid = -1;
  if (posix_spawn(&pid, pointers[0], &actions, nullptr, pointers.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

// Reads what is available from `fd` into `out`; false at end of file.
bool Drain(int fd, std::string& out) {
  char buffer[4096];
  ssize_t n = ::read(fd, buffer, sizeof(buffer));
  if (n <= 0) return false;
  out.append(buffer, static_cast<size_t>(n));
  return true;
}

int WaitExit(pid_t pid, absl::Time deadline) {
  while (true) {
    int status = 0;
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (absl::Now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
}

}  // namespace

CommandResult RunCommand(const std::vector<std::string>& argv, absl::Duration timeout,
                         const std::string& working_dir) {
  int out_pipe[2];
  int err_pipe[2];
  CommandResult result;
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) return result;
  pid_t pid = Spawn(argv, out_pipe[1], err_pipe[1], working_dir);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  absl::Time deadline = absl::Now() + timeout;
  bool out_open = true;
  bool err_open = true;
  while (pid > 0 && (out_open || err_open) && absl::Now() < deadline) {
    pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    if (::poll(fds, 2, 100) <= 0) continue;
    if (out_open && (fds[0].revents & (POLLIN | POLLHUP)))
      out_open = Drain(out_pipe[0], result.out);
    if (err_open && (fds[1].revents & (POLLIN | POLLHUP)))
      err_open = Drain(err_pipe[0], result.err);
  }
  ::close(out_pipe[0]);
  ::close(err_pipe[0]);
  if (pid > 0) result.exit_code = WaitExit(pid, deadline);
  return result;
}

BackgroundProcess::BackgroundProcess(const std::vector<std::string>& argv) {
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return;
  int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  pid_ = Spawn(argv, null_fd, err_pipe[1], "");
  ::close(null_fd);
  ::close(err_pipe[1]);
  stderr_fd_ = err_pipe[0];
}

BackgroundProcess::~BackgroundProcess() {
  if (pid_ > 0) Stop(SIGKILL, absl::Seconds(5));
  if (stderr_fd_ >= 0) ::close(stderr_fd_);
}

std::string BackgroundProcess::WaitForStderrLine(const std::string& needle,
                                                 absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    size_t line_end;
    while ((line_end = stderr_text_.find('\n', scanned_)) != std::string::npos) {
      std::string line = stderr_text_.substr(scanned_, line_end - scanned_);
      scanned_ = line_end + 1;
      if (line.find(needle) != std::string::npos) return line;
    }
    if (stderr_fd_ < 0 || absl::Now() > deadline) return "";
    pollfd fd = {stderr_fd_, POLLIN, 0};
    if (::poll(&fd, 1, 100) > 0 && !Drain(stderr_fd_, stderr_text_)) return "";
  }
}

int BackgroundProcess::Stop(int signal, absl::Duration timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, signal);
  int code = WaitExit(pid_, absl::Now() + timeout);
  pid_ = -1;
  if (stderr_fd_ >= 0) {
    while (Drain(stderr_fd_, stderr_text_)) {
    }
  }
  return code;
}

RunningWattd StartWattd(const std::string& wattd_path, const std::string& data_dir,
                        const std::vector<std::string>& extra_args) {
  RunningWattd wattd;
  std::vector<std::string> argv{wattd_path,    "--data",        data_dir,     "--rpc-listen",
                                "127.0.0.1:0", "--http-listen", "127.0.0.1:0"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  wattd.process = std::make_unique<BackgroundProcess>(argv);
  std::string line = wattd.process->WaitForStderrLine("rpc_listening", absl::Seconds(20));
  size_t at = line.find("\"address\":\"");
  if (at == std::string::npos) return wattd;
  at += 11;
  wattd.address = line.substr(at, line.find('"', at) - at);
  return wattd;
}

std::string SimulatorControl(const std::string& address, const std::string& line) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  timeval timeout{.tv_sec = 5, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1))));
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  std::string reply;
  if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0) {
    std::string request = line + "\n";
    if (write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char c;
      while (read(fd, &c, 1) == 1 && c != '\n') reply += c;
    }
  }
  close(fd);
  return reply;
}

}  // namespace wattledger::testing
