// The console's static assets (api/web/, built into its dist/ directory and
// served from --web_root): GET and HEAD of "/" (index.html) and of files
// under the root. Only names of letters, digits, '-', '_', '.' and '/' are
// served, never a segment starting with '.', and only known file types, each
// with its content type; anything else is 404. Internal to api/http/.
#pragma once

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "api/http/web_api.h"

namespace wattledger::http {

// The file's response, or nullopt when `path` names no servable file.
std::optional<Response> ServeStatic(const std::string& root, absl::string_view path);

}  // namespace wattledger::http
