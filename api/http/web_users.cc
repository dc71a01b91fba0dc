#include "api/http/web_users.h"

#include <openssl/rand.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "ledger/status_macros.h"

namespace wattledger::http {
namespace {

constexpr absl::string_view kUserPrefix = "user/";
constexpr size_t kPasswordMin = 8;

constexpr std::pair<WebRole, absl::string_view> kRoleNames[] = {
    {WebRole::kAdmin, "admin"},     {WebRole::kOperator, "operator"},
    {WebRole::kCashier, "cashier"}, {WebRole::kAuditor, "auditor"},
    {WebRole::kStudent, "student"},
};

std::string Encode(const WebUser& user) {
  nlohmann::json json = {{"name", user.name},
                         {"role", std::string(WebRoleName(user.role))},
                         {"passwordHash", user.password_hash},
                         {"displayName", user.display_name},
                         {"keyId", user.key_id_hex},
                         {"personId", user.person_id},
                         {"disabled", user.disabled}};
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<WebUser> Decode(const std::string& bytes) {
  nlohmann::json json = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return std::nullopt;
  WebUser user;
  auto role = ParseWebRole(json.value("role", ""));
  if (!role.ok()) return std::nullopt;
  user.name = json.value("name", "");
  user.role = *role;
  user.password_hash = json.value("passwordHash", "");
  user.display_name = json.value("displayName", "");
  user.key_id_hex = json.value("keyId", "");
  user.person_id = json.value("personId", "");
  user.disabled = json.value("disabled", false);
  return user;
}

bool IsUtf8(const std::string& text) {
  try {
    (void)nlohmann::json(text).dump();  // the strict handler throws on invalid UTF-8
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

absl::Status FromRocks(const rocksdb::Status& status, absl::string_view what) {
  if (status.ok()) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat(what, ": ", status.ToString()));
}

}  // namespace

absl::string_view WebRoleName(WebRole role) {
  for (const auto& [r, name] : kRoleNames) {
    if (r == role) return name;
  }
  return "unknown";
}

absl::StatusOr<WebRole> ParseWebRole(absl::string_view name) {
  for (const auto& [role, n] : kRoleNames) {
    if (n == name) return role;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("no role '", name, "' (admin, operator, cashier, auditor, student)"));
}

UserStore::UserStore(std::unique_ptr<rocksdb::DB> db, ScryptCost cost)
    : db_(std::move(db)), cost_(cost) {}
UserStore::~UserStore() = default;

absl::StatusOr<std::unique_ptr<UserStore>> UserStore::Open(const std::string& path,
                                                           ScryptCost cost) {
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  WL_RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(options, path, &raw),
                               absl::StrCat("cannot open the web users at ", path)));
  return std::unique_ptr<UserStore>(new UserStore(std::unique_ptr<rocksdb::DB>(raw), cost));
}

absl::Status UserStore::Put(const WebUser& user) {
  rocksdb::WriteOptions options;
  options.sync = true;
  return FromRocks(db_->Put(options, absl::StrCat(kUserPrefix, user.name), Encode(user)),
                   "cannot store the user");
}

absl::Status UserStore::Create(WebUser user, absl::string_view password) {
  if (user.name.empty()) return absl::InvalidArgumentError("a user needs a name");
  for (const std::string* text :
       {&user.name, &user.display_name, &user.key_id_hex, &user.person_id}) {
    if (!IsUtf8(*text)) return absl::InvalidArgumentError("names must be UTF-8 text");
  }
  if (password.size() < kPasswordMin) {
    return absl::InvalidArgumentError("a password needs at least 8 characters");
  }
  if (user.role == WebRole::kStudent && user.person_id.empty()) {
    return absl::InvalidArgumentError("a student's account needs the student's person id");
  }
  if (Find(user.name).has_value()) {
    return absl::AlreadyExistsError(absl::StrCat("a user ", user.name, " exists"));
  }
  user.password_hash = HashPassword(password, cost_);
  return Put(user);
}

std::optional<WebUser> UserStore::Find(absl::string_view name) const {
  std::string bytes;
  if (!db_->Get(rocksdb::ReadOptions(), absl::StrCat(kUserPrefix, name), &bytes).ok()) {
    return std::nullopt;
  }
  return Decode(bytes);
}

std::vector<WebUser> UserStore::List() const {
  std::vector<WebUser> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(std::string(kUserPrefix));
       it->Valid() && it->key().starts_with(rocksdb::Slice(kUserPrefix.data(), kUserPrefix.size()));
       it->Next()) {
    if (auto user = Decode(it->value().ToString())) out.push_back(std::move(*user));
  }
  return out;
}

bool UserStore::empty() const { return List().empty(); }

std::optional<WebUser> UserStore::Check(absl::string_view name, absl::string_view password) const {
  auto user = Find(name);
  if (!user.has_value()) {
    // As slow as a wrong password, so timing does not tell which names exist.
    static const std::string* const dummy = new std::string(HashPassword("", cost_));
    VerifyPassword(password, *dummy);
    return std::nullopt;
  }
  if (user->disabled || !VerifyPassword(password, user->password_hash)) return std::nullopt;
  return user;
}

absl::Status UserStore::SetPassword(absl::string_view name, absl::string_view password) {
  auto user = Find(name);
  if (!user.has_value()) return absl::NotFoundError(absl::StrCat("no user ", name));
  if (password.size() < kPasswordMin) {
    return absl::InvalidArgumentError("a password needs at least 8 characters");
  }
  user->password_hash = HashPassword(password, cost_);
  return Put(*user);
}

absl::Status UserStore::SetDisabled(absl::string_view name, bool disabled) {
  auto user = Find(name);
  if (!user.has_value()) return absl::NotFoundError(absl::StrCat("no user ", name));
  user->disabled = disabled;
  return Put(*user);
}

absl::Status UserStore::SetKey(absl::string_view name, absl::string_view key_id_hex) {
  auto user = Find(name);
  if (!user.has_value()) return absl::NotFoundError(absl::StrCat("no user ", name));
  if (user->role == WebRole::kStudent) {
    return absl::InvalidArgumentError("students sign nothing: their accounts name no key");
  }
  if (!key_id_hex.empty() &&
      (key_id_hex.size() != 64 || !std::all_of(key_id_hex.begin(), key_id_hex.end(), [](char c) {
         return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
       }))) {
    return absl::InvalidArgumentError("a key id is 64 lower-case hex digits");
  }
  user->key_id_hex = std::string(key_id_hex);
  return Put(*user);
}

std::string RandomPassword() {
  static constexpr char kAlphabet[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  constexpr size_t kAlphabetSize = sizeof kAlphabet - 1;
  constexpr unsigned kUnbiasedBelow = 256 - 256 % kAlphabetSize;
  std::string out;
  while (out.size() < 20) {
    unsigned char byte = 0;
    WL_CHECK(RAND_bytes(&byte, 1) == 1);
    if (byte < kUnbiasedBelow) out.push_back(kAlphabet[byte % kAlphabetSize]);
  }
  return out;
}

}  // namespace wattledger::http
