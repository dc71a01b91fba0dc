#include "tools/common/cli.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "ledger/status_macros.h"

namespace wattledger::tools {

absl::StatusOr<std::string> ReadPassphrase(const std::string& passphrase_file) {
  if (!passphrase_file.empty()) {
    std::ifstream in(passphrase_file);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", passphrase_file));
    std::string line;
    std::getline(in, line);
    return line;
  }
  const char* env = std::getenv("WATTLEDGER_PASSPHRASE");
  return std::string(env == nullptr ? "" : env);
}

absl::StatusOr<ledger::SigningKey> LoadKeyFile(const std::string& path,
                                               const std::string& passphrase_file) {
  if (path.empty()) return absl::InvalidArgumentError("no key file given (--key FILE)");
  WL_ASSIGN_OR_RETURN(std::string passphrase, ReadPassphrase(passphrase_file));
  return ledger::SigningKey::LoadPem(path, passphrase);
}

std::string PublicKeyPath(const std::string& pem_path) {
  if (absl::EndsWith(pem_path, ".pem")) return pem_path.substr(0, pem_path.size() - 4) + ".pub";
  return pem_path + ".pub";
}

absl::Status WriteKeyPair(const ledger::SigningKey& key, const std::string& pem_path,
                          const std::string& passphrase) {
  WL_RETURN_IF_ERROR(key.SavePem(pem_path, passphrase));
  std::ofstream out(PublicKeyPath(pem_path));
  out << ledger::ToHex(absl::MakeConstSpan(key.public_key())) << "\n";
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", PublicKeyPath(pem_path)));
  return absl::OkStatus();
}

absl::StatusOr<ledger::PublicKey> ReadPublicKey(const std::string& hex_or_path) {
  std::string text = hex_or_path;
  if (text.size() != 64) {
    std::ifstream in(hex_or_path);
    if (!in) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", hex_or_path, "' is neither 64 hex digits nor a readable .pub file"));
    }
    std::getline(in, text);
  }
  return ledger::FixedFromHex<32>(absl::StripAsciiWhitespace(text));
}

absl::StatusOr<std::vector<std::string>> NormaliseArgs(int argc, char** argv) {
  std::vector<std::string> raw(argv, argv + argc);
  std::vector<std::string> out;
  std::vector<std::string> from_config;
  for (size_t i = 0; i < raw.size(); ++i) {
    std::string arg = raw[i];
    if (i > 0 && absl::StartsWith(arg, "--")) {
      size_t end = arg.find('=');
      if (end == std::string::npos) end = arg.size();
      for (size_t j = 2; j < end; ++j) {
        if (arg[j] == '-') arg[j] = '_';
      }
    }
    std::string config_path;
    if (arg == "--config" && i + 1 < raw.size()) {
      config_path = raw[++i];
    } else if (absl::StartsWith(arg, "--config=")) {
      config_path = arg.substr(9);
    }
    if (config_path.empty()) {
      out.push_back(arg);
      continue;
    }
    std::ifstream in(config_path);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot read config file ", config_path));
    std::string line;
    int line_number = 0;
    while (std::getline(in, line)) {
      ++line_number;
      absl::string_view text = absl::StripAsciiWhitespace(line);
      if (text.empty() || text[0] == '#') continue;
      size_t equals = text.find('=');
      if (equals == absl::string_view::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat(config_path, ":", line_number, ": expected `name = value`"));
      }
      std::string name(absl::StripAsciiWhitespace(text.substr(0, equals)));
      for (char& c : name) {
        if (c == '-') c = '_';
      }
      from_config.push_back(
          absl::StrCat("--", name, "=", absl::StripAsciiWhitespace(text.substr(equals + 1))));
    }
  }
  // Config values go first so flags on the command line override them.
  out.insert(out.begin() + std::min<size_t>(1, out.size()), from_config.begin(), from_config.end());
  return out;
}

}  // namespace wattledger::tools
