// DL/T 645-2007 link layer: addresses, control codes, frames, and a stream
// decoder that finds frames in the bytes a TCP collector forwards. Used by the
// gateway (wattd, master side) and the meter simulator (slave side); the
// request/reply builders on top live in messages.h, value formats in values.h.
//
// Frame grammar (all multi-byte items low byte first):
//
//   frame    := FE{0..4} 68 address 68 control length data checksum 16
//   address  := 6 bytes, 12 BCD digits, A0 (lowest two digits) first;
//               AA bytes from the high end = wildcard; 99 x6 = broadcast
//   control  := D7 direction (1 = reply) | D6 abnormal | D5 follow-up | D4..D0 function
//   length   := number of data bytes, 0..kDataBytesMax
//   data     := each byte +0x33 on the wire (Frame::data holds it with 0x33 removed)
//   checksum := sum of every byte from the first 68 through data, mod 256
//
// Everything here is a value type or a single-owner object without locks:
// use one FrameDecoder per connection, from one thread at a time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "ingest/dlt645/error.h"

namespace wattledger::ingest::dlt645 {

// Largest data field accepted or produced (the standard's read limit).
inline constexpr size_t kDataBytesMax = 200;
// Largest data field of a write request (0x14): DI + password + operator + value.
inline constexpr size_t kWriteDataBytesMax = 50;
// Wake-up bytes a sender may put before the frame.
inline constexpr size_t kPreambleBytesMax = 4;
// Bytes of a frame without preamble and data: 68 A0..A5 68 C L CS 16.
inline constexpr size_t kFrameOverheadBytes = 12;
inline constexpr size_t kFrameBytesMax = kPreambleBytesMax + kFrameOverheadBytes + kDataBytesMax;

inline constexpr uint8_t kStartByte = 0x68;
inline constexpr uint8_t kEndByte = 0x16;
inline constexpr uint8_t kPreambleByte = 0xFE;
inline constexpr uint8_t kDataOffset = 0x33;

// A meter address: 6 bytes in wire order (bytes[0] = A0 holds the lowest two digits).
struct Address {
  std::array<uint8_t, 6> bytes = {};

  // "123456789012" (most significant digit first, as printed on the meter;
  // shorter strings are padded with leading zeros). "AA" pairs are allowed at
  // the high end for wildcard addressing. kInvalidArgument/kBadBcd otherwise.
  static absl::StatusOr<Address> Parse(absl::string_view digits);
  // From wire bytes; kBadBcd unless every byte is BCD or a high-end AA.
  static absl::StatusOr<Address> FromWire(absl::Span<const uint8_t> wire);
  static Address Broadcast();  // 99 99 99 99 99 99
  static Address Wildcard();   // AA AA AA AA AA AA

  // 12 characters, most significant first ("000000010001", "AAAAAAAAAAAA").
  std::string ToString() const;
  bool IsBroadcast() const;
  bool HasWildcard() const;  // any AA byte
  // True when a frame sent to `*this` is meant for the meter at `meter`
  // (equal, or equal outside the AA bytes). Broadcast matches nothing here:
  // callers decide per function (only 0x08 time sync is accepted).
  bool Matches(const Address& meter) const;

  friend bool operator==(const Address&, const Address&) = default;
};

// Function codes (D4..D0 of the control byte).
enum class Function : uint8_t {
  kSecurity = 0x03,       // ESAM authentication (not built by this codec)
  kBroadcastTime = 0x08,  // data ss mm hh DD MM YY, address 99.., no reply
  kRead = 0x11,           // data DI (+ optional N1 / time for records)
  kReadFollowUp = 0x12,   // data DI + SEQ
  kReadAddress = 0x13,    // address AA.., L = 0; reply carries the address
  kWrite = 0x14,          // data DI + password 4 + operator 4 + value
  kWriteAddress = 0x15,
  kFreeze = 0x16,
  kChangeBaudRate = 0x17,
  kChangePassword = 0x18,
  kClearMaxDemand = 0x19,
  kClearMeter = 0x1A,
  kClearEvents = 0x1B,
  kRemoteControl = 0x1C,  // data password 4 + operator 4 + N1 N2 + deadline ss mm hh DD MM YY
};

// The control byte, split.
struct Control {
  uint8_t function = 0;    // D4..D0; compare with static_cast<uint8_t>(Function::k...)
  bool reply = false;      // D7: 1 = meter to master
  bool abnormal = false;   // D6: 1 = abnormal reply (data = one error word)
  bool follow_up = false;  // D5: 1 = more frames follow

  static Control FromByte(uint8_t byte);
  uint8_t ToByte() const;
  static Control Request(Function function);                              // C = function
  static Control NormalReply(Function function, bool follow_up = false);  // C | 0x80 (| 0x20)
  static Control AbnormalReply(Function function);                        // C | 0xC0
  bool Is(Function f) const { return function == static_cast<uint8_t>(f); }
  friend bool operator==(const Control&, const Control&) = default;
};

// One frame, data already unscrambled (0x33 removed).
struct Frame {
  Address address;
  Control control;
  std::vector<uint8_t> data;

  friend bool operator==(const Frame&, const Frame&) = default;
};

// The wire bytes of `frame` preceded by `preamble_bytes` FE (0..4).
// kBadLength when data exceeds kDataBytesMax (kInvalidArgument) or the preamble exceeds 4.
absl::StatusOr<std::vector<uint8_t>> EncodeFrame(const Frame& frame, size_t preamble_bytes = 4);

// The frame in `bytes`, which must hold exactly one frame: optional FE (any
// number) then 68 ... 16 and nothing after. Errors: kTruncated, kBadStart,
// kBadLength, kBadChecksum, kBadEnd, kTrailingBytes, kBadBcd (address).
absl::StatusOr<Frame> DecodeFrame(absl::Span<const uint8_t> bytes);

// Sum of `bytes` mod 256 (the frame checksum over 68 .. data as sent).
uint8_t Checksum(absl::Span<const uint8_t> bytes);

// Hex helpers for tools and tests: "68 AA .." or "68AA.."; spaces ignored.
absl::StatusOr<std::vector<uint8_t>> ParseHex(absl::string_view hex);
std::string ToHex(absl::Span<const uint8_t> bytes);  // upper case, no spaces

// Finds frames in a byte stream. Bytes that cannot start a frame — FE
// preambles, junk, and a 68 without a second 68 seven bytes on (collector
// heartbeats are often ASCII, and 'h' is 0x68) — are dropped silently and
// counted in skipped_bytes(). A candidate with the frame's shape (68, six
// bytes, 68) that proves bad (L > kDataBytesMax, wrong end byte, wrong
// checksum, address not BCD) is reported once as an error, then the decoder
// skips one byte past its first 68 and searches again, so a frame hidden
// inside garbage is still found and the decoder never stalls on bad input.
// Candidates that start inside the bytes of a frame already reported are
// dropped silently unless they are valid frames, so one bad frame is one
// error. A candidate still incomplete while a complete, valid frame starts
// later in the buffer is reported as kTruncated and dropped (the sender was
// cut off). Errors: kBadLength, kBadEnd, kBadChecksum, kBadBcd, kTruncated.
//
// Memory: after Next() returns nullopt the decoder holds at most one
// incomplete frame (< kFrameBytesMax bytes); drain with Next() after each Append().
class FrameDecoder {
 public:
  FrameDecoder() = default;

  void Append(absl::Span<const uint8_t> bytes);

  // The next frame, or an error for a bad candidate (the decoder has already
  // moved past it: call Next() again), or nullopt when more bytes are needed.
  std::optional<absl::StatusOr<Frame>> Next();

  // Drops everything buffered (call on a request timeout, before the next
  // request) and returns how many bytes were dropped.
  size_t Reset();

  size_t buffered_bytes() const { return buffer_.size() - start_; }
  // Bytes dropped silently (FE preambles, junk, quiet candidates), since construction.
  uint64_t skipped_bytes() const { return skipped_bytes_; }

 private:
  void Consume(size_t bytes);
  // Reports `error` for the candidate at the front claiming `claimed_bytes`,
  // unless it lies inside one already reported.
  std::optional<absl::StatusOr<Frame>> Report(absl::Status error, size_t claimed_bytes);

  std::vector<uint8_t> buffer_;
  size_t start_ = 0;
  uint64_t position_ = 0;     // stream offset of buffer_[start_]
  uint64_t quiet_until_ = 0;  // stream offset where the last reported bad frame ends
  uint64_t skipped_bytes_ = 0;
};

}  // namespace wattledger::ingest::dlt645
