// What wattd and wattctl share at the command line: key files with optional
// passphrases, public keys given as hex or as a .pub file, a small config
// file format, and flag spelling (--ledger-key and --ledger_key both work).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ledger/crypto.h"

namespace wattledger::tools {

// Reads the passphrase from `passphrase_file` (first line), else from the
// WATTLEDGER_PASSPHRASE environment variable, else empty.
absl::StatusOr<std::string> ReadPassphrase(const std::string& passphrase_file);

// Loads a PKCS#8 PEM private key, decrypting it with the passphrase.
absl::StatusOr<ledger::SigningKey> LoadKeyFile(const std::string& path,
                                               const std::string& passphrase_file);

// Writes `key` to `pem_path` (mode 0600) and its public half as hex to
// `pem_path` with ".pem" replaced by ".pub" (or ".pub" appended).
absl::Status WriteKeyPair(const ledger::SigningKey& key, const std::string& pem_path,
                          const std::string& passphrase);
std::string PublicKeyPath(const std::string& pem_path);

// A public key given as 64 hex digits or as the path of a .pub file.
absl::StatusOr<ledger::PublicKey> ReadPublicKey(const std::string& hex_or_path);

// Turns argv into the list absl::ParseCommandLine should see: "--a-b" is
// spelled "--a_b", and `--config FILE` (key = value lines, '#' comments) is
// expanded in place before the other flags, so the command line wins.
absl::StatusOr<std::vector<std::string>> NormaliseArgs(int argc, char** argv);

}  // namespace wattledger::tools
