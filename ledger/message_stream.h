// The export file format: a plain, unpacked Cap'n Proto message stream, one
// single-segment message per record, exactly what capnp::writeMessage writes
// and `capnp decode` reads:
//
//   stream  := message*
//   message := u32le(0) u32le(word_count) segment      ; one segment
//   segment := word_count * 8 bytes, canonical form
//
// `wattctl export` writes envelopes to FILE and checkpoints to
// FILE.checkpoints in this format.
#pragma once

#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace wattledger::ledger {

class MessageStreamWriter {
 public:
  // Creates (truncates) `path`. kUnavailable on I/O errors.
  static absl::StatusOr<std::unique_ptr<MessageStreamWriter>> Create(const std::string& path);
  ~MessageStreamWriter();
  absl::Status Append(absl::string_view canonical_message);
  // Flushes and fsyncs; call before reporting success.
  absl::Status Close();

 private:
  explicit MessageStreamWriter(std::FILE* file, std::string path)
      : file_(file), path_(std::move(path)) {}
  std::FILE* file_;
  std::string path_;
};

class MessageStreamReader {
 public:
  static absl::StatusOr<std::unique_ptr<MessageStreamReader>> Open(const std::string& path);
  ~MessageStreamReader();
  // The next message's segment bytes, nullopt at a clean end of file;
  // kInvalidArgument for a truncated message, several segments, or one over
  // `bytes_max`.
  absl::StatusOr<std::optional<std::string>> Next(size_t bytes_max);

 private:
  explicit MessageStreamReader(std::FILE* file) : file_(file) {}
  std::FILE* file_;
};

}  // namespace wattledger::ledger
