#include "api/http/static_files.h"

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace wattledger::http {
namespace {

constexpr size_t kStaticBytesMax = 16 << 20;

const char* ContentType(absl::string_view path) {
  static const std::vector<std::pair<const char*, const char*>> kTypes = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".map", "application/json"},
      {".txt", "text/plain; charset=utf-8"}};
  for (const auto& [suffix, type] : kTypes) {
    if (absl::EndsWith(path, suffix)) return type;
  }
  return nullptr;
}

bool SafePath(absl::string_view path) {
  if (!absl::StartsWith(path, "/")) return false;
  for (char c : path) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '/';
    if (!ok) return false;
  }
  for (absl::string_view segment : absl::StrSplit(path.substr(1), '/')) {
    if (segment.empty() || segment[0] == '.') return false;
  }
  return true;
}

}  // namespace

std::optional<Response> ServeStatic(const std::string& root, absl::string_view path) {
  if (root.empty()) return std::nullopt;
  std::string name = path == "/" ? "/index.html" : std::string(path);
  const char* type = ContentType(name);
  if (type == nullptr || !SafePath(name)) return std::nullopt;
  std::ifstream file(absl::StrCat(root, name), std::ios::binary);
  if (!file) return std::nullopt;
  std::ostringstream bytes;
  bytes << file.rdbuf();
  if (!file.good() && !file.eof()) return std::nullopt;
  std::string body = std::move(bytes).str();
  if (body.size() > kStaticBytesMax) return std::nullopt;
  Response response{beast_http::status::ok, 11};
  response.set(beast_http::field::content_type, type);
  response.body() = std::move(body);
  return response;
}

}  // namespace wattledger::http
