// wattd's web API as a new user first meets it: the first start creates the
// first admin with a random password, printed once and kept in a file only
// its owner reads; that admin logs in over HTTP; a restart creates no other.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "tests/testing/ledger_fixture.h"
#include "tests/testing/subprocess.h"

namespace wattledger::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

// The quoted value of `key` in a structured log line.
std::string Field(const std::string& line, const std::string& key) {
  std::string needle = absl::StrCat("\"", key, "\":\"");
  size_t at = line.find(needle);
  if (at == std::string::npos) return "";
  at += needle.size();
  return line.substr(at, line.find('"', at) - at);
}

http::response<http::string_body> Post(const std::string& address, const std::string& target,
                                       const std::string& body) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  size_t colon = address.rfind(':');
  socket.connect({asio::ip::make_address(address.substr(0, colon)),
                  static_cast<uint16_t>(std::stoi(address.substr(colon + 1)))});
  http::request<http::string_body> request{http::verb::post, target, 11};
  request.set(http::field::host, address);
  request.set(http::field::content_type, "application/json");
  request.body() = body;
  request.prepare_payload();
  http::write(socket, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(socket, buffer, response);
  return response;
}

TEST(WebFirstRun, TheFirstAdminIsPrintedOnceAndLogsIn) {
  TempDir dir;
  std::string data = dir.Sub("data");
  ASSERT_EQ(RunCommand({WL_WATTCTL_PATH, "init", "--data", data}).exit_code, 0);
  RunningWattd wattd = StartWattd(WL_WATTD_PATH, data);
  ASSERT_FALSE(wattd.address.empty()) << wattd.process->stderr_text();
  std::string admin = wattd.process->WaitForStderrLine("web_first_admin", absl::Seconds(10));
  std::string listening = wattd.process->WaitForStderrLine("http_listening", absl::Seconds(10));
  std::string password = Field(admin, "password");
  std::string address = Field(listening, "address");
  ASSERT_GE(password.size(), 16u) << admin;
  ASSERT_FALSE(address.empty()) << listening;

  std::string file = data + "/web/first-admin-password";
  std::ifstream in(file);
  std::string kept;
  std::getline(in, kept);
  EXPECT_EQ(kept, password);
  struct stat info {};
  ASSERT_EQ(stat(file.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);

  auto login = Post(address, "/api/login",
                    absl::StrCat("{\"username\":\"admin\",\"password\":\"", password, "\"}"));
  EXPECT_EQ(login.result(), http::status::ok) << login.body();
  EXPECT_TRUE(absl::StrContains(login.body(), "\"role\":\"admin\"")) << login.body();
  EXPECT_EQ(
      Post(address, "/api/login", "{\"username\":\"admin\",\"password\":\"nope-nope\"}").result(),
      http::status::unauthorized);
  ASSERT_EQ(wattd.process->Stop(SIGTERM), 0);

  RunningWattd again = StartWattd(WL_WATTD_PATH, data);
  ASSERT_FALSE(again.address.empty()) << again.process->stderr_text();
  again.process->WaitForStderrLine("http_listening", absl::Seconds(10));
  EXPECT_FALSE(absl::StrContains(again.process->stderr_text(), "web_first_admin"));
  ASSERT_EQ(again.process->Stop(SIGTERM), 0);
}

}  // namespace
}  // namespace wattledger::testing
