#include "ledger/message_stream.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace wattledger::ledger {
namespace {

void PutU32LittleEndian(char* out, uint32_t value) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(value >> (8 * i));
}

uint32_t GetU32LittleEndian(const unsigned char* in) {
  return static_cast<uint32_t>(in[0]) | static_cast<uint32_t>(in[1]) << 8 |
         static_cast<uint32_t>(in[2]) << 16 | static_cast<uint32_t>(in[3]) << 24;
}

}  // namespace

absl::StatusOr<std::unique_ptr<MessageStreamWriter>> MessageStreamWriter::Create(
    const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  return std::unique_ptr<MessageStreamWriter>(new MessageStreamWriter(file, path));
}

MessageStreamWriter::~MessageStreamWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

absl::Status MessageStreamWriter::Append(absl::string_view canonical_message) {
  if (canonical_message.size() % 8 != 0) {
    return absl::InvalidArgumentError("a message is a whole number of words");
  }
  char header[8];
  PutU32LittleEndian(header, 0);
  PutU32LittleEndian(header + 4, static_cast<uint32_t>(canonical_message.size() / 8));
  if (std::fwrite(header, 1, 8, file_) != 8 ||
      std::fwrite(canonical_message.data(), 1, canonical_message.size(), file_) !=
          canonical_message.size()) {
    return absl::UnavailableError(absl::StrCat("cannot write ", path_, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status MessageStreamWriter::Close() {
  std::FILE* file = file_;
  file_ = nullptr;
  if (std::fflush(file) != 0 || ::fsync(fileno(file)) != 0) {
    std::fclose(file);
    return absl::UnavailableError(absl::StrCat("cannot flush ", path_, ": ", std::strerror(errno)));
  }
  if (std::fclose(file) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot close ", path_, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<MessageStreamReader>> MessageStreamReader::Open(
    const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  return std::unique_ptr<MessageStreamReader>(new MessageStreamReader(file));
}

MessageStreamReader::~MessageStreamReader() { std::fclose(file_); }

absl::StatusOr<std::optional<std::string>> MessageStreamReader::Next(size_t bytes_max) {
  unsigned char header[8];
  size_t got = std::fread(header, 1, 8, file_);
  if (got == 0 && std::feof(file_)) return std::optional<std::string>();
  if (got != 8) return absl::InvalidArgumentError("truncated message header");
  if (GetU32LittleEndian(header) != 0) {
    return absl::InvalidArgumentError("message has more than one segment");
  }
  uint64_t size = static_cast<uint64_t>(GetU32LittleEndian(header + 4)) * 8;
  if (size == 0 || size > bytes_max) {
    return absl::InvalidArgumentError(absl::StrCat("message size ", size, " is out of bounds"));
  }
  std::string bytes(size, '\0');
  if (std::fread(bytes.data(), 1, size, file_) != size) {
    return absl::InvalidArgumentError("truncated message");
  }
  return std::optional<std::string>(std::move(bytes));
}

}  // namespace wattledger::ledger
