// Logged-in browsers and the brakes on guessing passwords.
//
// SessionBook: a session is a 256-bit random id (the HttpOnly cookie) with
// its own 256-bit CSRF token, its user and role, and when it was last used;
// one unused for the idle timeout is gone. Logging in always opens a new
// session, so an id planted before login is worth nothing (fixation).
//
// LoginLimiter: after 5 failed logins for a name, or 20 from one address,
// within 15 minutes, further attempts are refused for the rest of that
// window, right password or not.
//
// Both take the time from a clock function (tests move it) and are
// thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/http/web_users.h"

namespace wattledger::http {

using Clock = std::function<absl::Time()>;

struct WebSession {
  std::string id{};
  std::string csrf_token{};
  std::string user{};
  WebRole role = WebRole::kStudent;
  absl::Time last_used{};
};

class SessionBook {
 public:
  SessionBook(absl::Duration idle_timeout, Clock clock);

  WebSession Open(const WebUser& user);
  // The session, touched, while it has not idled out; nullopt otherwise.
  std::optional<WebSession> Use(const std::string& id);
  void Close(const std::string& id);
  // Ends every session of `user` (disabled, password changed).
  void CloseAllOf(const std::string& user);
  size_t size() const;

 private:
  const absl::Duration idle_timeout_;
  const Clock clock_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, WebSession> sessions_ ABSL_GUARDED_BY(mu_);
};

class LoginLimiter {
 public:
  explicit LoginLimiter(Clock clock);
  // How long until `name` from `address` may try again; zero: now.
  absl::Duration WaitFor(const std::string& name, const std::string& address);
  void Failed(const std::string& name, const std::string& address);
  void Succeeded(const std::string& name);

 private:
  struct Window {
    absl::Time start{};
    int failures = 0;
  };
  absl::Duration WaitLocked(const Window* window, int max, absl::Time now) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CountLocked(absl::flat_hash_map<std::string, Window>& windows, const std::string& key,
                   absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock clock_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Window> by_name_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Window> by_address_ ABSL_GUARDED_BY(mu_);
};

// 32 random bytes, base64url without padding.
std::string RandomToken();

}  // namespace wattledger::http
