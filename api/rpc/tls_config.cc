#include "api/rpc/tls_config.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace wattledger::rpc {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& path, absl::string_view what) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read the ", what, " ", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs a kj-tls constructor that throws on bad PEM; kInvalidArgument then.
template <typename Make>
absl::Status Parse(const std::string& path, Make make) {
  KJ_IF_MAYBE (exception, kj::runCatchingExceptions(make)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot parse ", path, ": ", exception->getDescription().cStr()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<TlsSetup>> TlsSetup::ForServer(const TlsFiles& files,
                                                              kj::Timer* timer) {
  if (files.cert.empty() || files.key.empty()) {
    return absl::InvalidArgumentError("a TLS server needs a certificate and a key");
  }
  return Make(files, /*server=*/true, timer);
}

absl::StatusOr<std::unique_ptr<TlsSetup>> TlsSetup::ForClient(const TlsFiles& files) {
  if (files.ca.empty()) {
    return absl::InvalidArgumentError("a TLS client needs the CA that signed the server");
  }
  if (files.cert.empty() != files.key.empty()) {
    return absl::InvalidArgumentError("a client certificate needs its key, and a key its cert");
  }
  return Make(files, /*server=*/false, nullptr);
}

absl::StatusOr<std::unique_ptr<TlsSetup>> TlsSetup::Make(const TlsFiles& files, bool server,
                                                         kj::Timer* timer) {
  auto setup = std::make_unique<TlsSetup>();
  kj::TlsContext::Options options;
  options.useSystemTrustStore = false;
  options.minVersion = kj::TlsVersion::TLS_1_2;
  if (!files.cert.empty()) {
    auto cert = ReadPem(files.cert, "certificate");
    if (!cert.ok()) return cert.status();
    auto key = ReadPem(files.key, "private key");
    if (!key.ok()) return key.status();
    absl::Status parsed = Parse(files.cert, [&] {
      setup->keypair_ = kj::TlsKeypair{kj::TlsPrivateKey(kj::StringPtr(key->c_str())),
                                       kj::TlsCertificate(kj::StringPtr(cert->c_str()))};
    });
    if (!parsed.ok()) return parsed;
    KJ_IF_MAYBE (keypair, setup->keypair_) {
      options.defaultKeypair = *keypair;
    }
  }
  if (!files.ca.empty()) {
    auto ca = ReadPem(files.ca, "CA certificate");
    if (!ca.ok()) return ca.status();
    absl::Status parsed = Parse(files.ca, [&] {
      setup->trusted_ =
          kj::heapArray<kj::TlsCertificate>({kj::TlsCertificate(kj::StringPtr(ca->c_str()))});
    });
    if (!parsed.ok()) return parsed;
    options.trustedCertificates = setup->trusted_;
    options.verifyClients = server;
  }
  if (timer != nullptr) {
    options.timer = *timer;
    options.acceptTimeout = 10 * kj::SECONDS;
  }
  absl::Status made =
      Parse(files.cert, [&] { setup->context_ = kj::heap<kj::TlsContext>(options); });
  if (!made.ok()) return made;
  return setup;
}

std::string ServerNameOf(const std::string& host_port) {
  std::string host = host_port.substr(0, host_port.rfind(':'));
  if (absl::StartsWith(host, "127.") || host == "[::1]" || host == "::1") return "localhost";
  return host;
}

// --- development certificates ------------------------------------------------

namespace {

using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Cert = std::unique_ptr<X509, decltype(&X509_free)>;

absl::Status OpenSslError(absl::string_view what) {
  return absl::InternalError(absl::StrCat("OpenSSL could not ", what));
}

absl::Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (extension == nullptr) return OpenSslError(absl::StrCat("make extension ", value));
  int added = X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
  return added == 1 ? absl::OkStatus() : OpenSslError("add an extension");
}

// A certificate for `key` named `cn`, signed by (issuer, issuer_key), or
// self-signed when issuer is null.
absl::StatusOr<Cert> Issue(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key,
                           const std::vector<std::string>& extensions) {
  Cert cert(X509_new(), X509_free);
  if (cert == nullptr) return OpenSslError("allocate a certificate");
  X509_set_version(cert.get(), 2);
  uint8_t serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1) return OpenSslError("draw a serial");
  serial_bytes[0] &= 0x7f;  // positive
  BIGNUM* serial = BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr);
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get()));
  BN_free(serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 2L * 365 * 86400);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("wattledger"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* signer = issuer == nullptr ? cert.get() : issuer;
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  for (size_t i = 0; i + 1 < extensions.size(); i += 2) {
    int nid = OBJ_txt2nid(extensions[i].c_str());
    absl::Status added = AddExtension(cert.get(), signer, nid, extensions[i + 1]);
    if (!added.ok()) return added;
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) return OpenSslError("sign");
  return cert;
}

absl::Status WriteFile(const std::string& path, const std::string& text, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode);
  if (fd < 0) return absl::InvalidArgumentError(absl::StrCat("cannot write ", path));
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok &= ::fchmod(fd, mode) == 0;
  ok &= ::close(fd) == 0;
  return ok ? absl::OkStatus() : absl::InvalidArgumentError(absl::StrCat("cannot write ", path));
}

template <typename Write>
std::string Pem(Write write) {
  BIO* bio = BIO_new(BIO_s_mem());
  write(bio);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(size));
  BIO_free(bio);
  return out;
}

absl::Status Save(const std::string& dir, const std::string& name, EVP_PKEY* key, X509* cert) {
  absl::Status written =
      WriteFile(absl::StrCat(dir, "/", name, ".key"), Pem([&](BIO* bio) {
                  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
                }),
                0600);
  if (!written.ok()) return written;
  return WriteFile(absl::StrCat(dir, "/", name, ".pem"),
                   Pem([&](BIO* bio) { PEM_write_bio_X509(bio, cert); }), 0644);
}

}  // namespace

absl::Status IssueDevCertificates(const std::string& dir, const std::string& client_name,
                                  const std::vector<std::string>& server_names) {
  Key ca_key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  Key server_key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  Key client_key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  if (!ca_key || !server_key || !client_key) return OpenSslError("generate P-256 keys");
  auto ca = Issue(ca_key.get(), "wattledger development CA", nullptr, ca_key.get(),
                  {"basicConstraints", "critical,CA:TRUE", "keyUsage",
                   "critical,keyCertSign,cRLSign", "subjectKeyIdentifier", "hash"});
  if (!ca.ok()) return ca.status();
  std::vector<std::string> sans = {"DNS:localhost", "IP:127.0.0.1"};
  for (const std::string& name : server_names) sans.push_back(absl::StrCat("DNS:", name));
  auto server =
      Issue(server_key.get(), "wattd", ca->get(), ca_key.get(),
            {"basicConstraints", "critical,CA:FALSE", "keyUsage", "critical,digitalSignature",
             "extendedKeyUsage", "serverAuth", "subjectAltName", absl::StrJoin(sans, ",")});
  if (!server.ok()) return server.status();
  auto client = Issue(client_key.get(), client_name, ca->get(), ca_key.get(),
                      {"basicConstraints", "critical,CA:FALSE", "keyUsage",
                       "critical,digitalSignature", "extendedKeyUsage", "clientAuth"});
  if (!client.ok()) return client.status();
  for (auto [name, key, cert] : {std::tuple{"ca", ca_key.get(), ca->get()},
                                 std::tuple{"server", server_key.get(), server->get()},
                                 std::tuple{"client", client_key.get(), client->get()}}) {
    absl::Status saved = Save(dir, name, key, cert);
    if (!saved.ok()) return saved;
  }
  return absl::OkStatus();
}

}  // namespace wattledger::rpc
