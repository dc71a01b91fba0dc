#include "api/http/web_sessions.h"

#include <openssl/rand.h>

#include "absl/strings/escaping.h"
#include "ledger/status_macros.h"

namespace wattledger::http {
namespace {

constexpr absl::Duration kLimitWindow = absl::Minutes(15);
constexpr int kFailuresPerNameMax = 5;
constexpr int kFailuresPerAddressMax = 20;
// Windows kept at most, so a flood of names cannot grow memory without bound.
constexpr size_t kWindowsMax = 100'000;

}  // namespace

std::string RandomToken() {
  std::string bytes(32, '\0');
  WL_CHECK(RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), 32) == 1);
  return absl::WebSafeBase64Escape(bytes);
}

SessionBook::SessionBook(absl::Duration idle_timeout, Clock clock)
    : idle_timeout_(idle_timeout), clock_(std::move(clock)) {}

WebSession SessionBook::Open(const WebUser& user) {
  WebSession session{.id = RandomToken(),
                     .csrf_token = RandomToken(),
                     .user = user.name,
                     .role = user.role,
                     .last_used = clock_()};
  absl::MutexLock lock(&mu_);
  // Drop the idle ones now and then, so abandoned sessions do not pile up.
  if (sessions_.size() % 1024 == 1023) {
    absl::Time now = clock_();
    absl::erase_if(sessions_,
                   [&](const auto& entry) { return now - entry.second.last_used > idle_timeout_; });
  }
  sessions_[session.id] = session;
  return session;
}

std::optional<WebSession> SessionBook::Use(const std::string& id) {
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  absl::Time now = clock_();
  if (now - it->second.last_used > idle_timeout_) {
    sessions_.erase(it);
    return std::nullopt;
  }
  it->second.last_used = now;
  return it->second;
}

void SessionBook::Close(const std::string& id) {
  absl::MutexLock lock(&mu_);
  sessions_.erase(id);
}

void SessionBook::CloseAllOf(const std::string& user) {
  absl::MutexLock lock(&mu_);
  absl::erase_if(sessions_, [&](const auto& entry) { return entry.second.user == user; });
}

size_t SessionBook::size() const {
  absl::MutexLock lock(&mu_);
  return sessions_.size();
}

LoginLimiter::LoginLimiter(Clock clock) : clock_(std::move(clock)) {}

absl::Duration LoginLimiter::WaitLocked(const Window* window, int max, absl::Time now) const {
  if (window == nullptr || window->failures < max) return absl::ZeroDuration();
  absl::Duration left = window->start + kLimitWindow - now;
  return left > absl::ZeroDuration() ? left : absl::ZeroDuration();
}

absl::Duration LoginLimiter::WaitFor(const std::string& name, const std::string& address) {
  absl::MutexLock lock(&mu_);
  absl::Time now = clock_();
  auto by_name = by_name_.find(name);
  auto by_address = by_address_.find(address);
  return std::max(
      WaitLocked(by_name == by_name_.end() ? nullptr : &by_name->second, kFailuresPerNameMax, now),
      WaitLocked(by_address == by_address_.end() ? nullptr : &by_address->second,
                 kFailuresPerAddressMax, now));
}

void LoginLimiter::CountLocked(absl::flat_hash_map<std::string, Window>& windows,
                               const std::string& key, absl::Time now) {
  if (windows.size() >= kWindowsMax) {
    absl::erase_if(windows,
                   [&](const auto& entry) { return now - entry.second.start > kLimitWindow; });
  }
  Window& window = windows[key];
  if (window.failures == 0 || now - window.start > kLimitWindow) window = Window{now, 0};
  ++window.failures;
}

void LoginLimiter::Failed(const std::string& name, const std::string& address) {
  absl::MutexLock lock(&mu_);
  absl::Time now = clock_();
  CountLocked(by_name_, name, now);
  CountLocked(by_address_, address, now);
}

void LoginLimiter::Succeeded(const std::string& name) {
  absl::MutexLock lock(&mu_);
  by_name_.erase(name);
}

}  // namespace wattledger::http
