// The web console's accounts: who may log in, with which role, and (for
// staff) the Ed25519 key their browser signs with, or (for students) the
// person whose room they see. Kept in a small RocksDB of their own beside the
// ledger (data/web/users), not in the log: a login authorises no ledger
// change (every change is signed by the person's own key) and password
// hashes do not belong in a log auditors copy. Thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "api/http/password_hash.h"

namespace rocksdb {
class DB;
}

namespace wattledger::http {

enum class WebRole { kAdmin, kOperator, kCashier, kAuditor, kStudent };

absl::string_view WebRoleName(WebRole role);
absl::StatusOr<WebRole> ParseWebRole(absl::string_view name);

struct WebUser {
  std::string name{};  // a student's is their campus card number
  WebRole role = WebRole::kStudent;
  std::string password_hash{};
  std::string display_name{};
  std::string key_id_hex{};  // staff: the registered key their browser signs with
  std::string person_id{};   // students: whose room they see
  bool disabled = false;
};

class UserStore {
 public:
  // Opens (creating) the store at `path`. `cost` is what new passwords are
  // hashed with (tests lower it).
  static absl::StatusOr<std::unique_ptr<UserStore>> Open(const std::string& path,
                                                         ScryptCost cost = {});
  ~UserStore();

  // kAlreadyExists for a taken name; kInvalidArgument for an empty name, a
  // password under 8 characters, or a student without a person.
  absl::Status Create(WebUser user, absl::string_view password);
  std::optional<WebUser> Find(absl::string_view name) const;
  std::vector<WebUser> List() const;
  bool empty() const;
  // The user when `password` is theirs and they are not disabled.
  std::optional<WebUser> Check(absl::string_view name, absl::string_view password) const;
  absl::Status SetPassword(absl::string_view name, absl::string_view password);
  absl::Status SetDisabled(absl::string_view name, bool disabled);
  // The key a staff account signs with ("" for none): 64 lower-case hex digits.
  absl::Status SetKey(absl::string_view name, absl::string_view key_id_hex);

 private:
  UserStore(std::unique_ptr<rocksdb::DB> db, ScryptCost cost);
  absl::Status Put(const WebUser& user);

  std::unique_ptr<rocksdb::DB> db_;
  ScryptCost cost_;
};

// A random password for the first admin, printed once by wattd.
std::string RandomPassword();

}  // namespace wattledger::http
