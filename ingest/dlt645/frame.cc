#include "ingest/dlt645/frame.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace wattledger::ingest::dlt645 {
namespace {

constexpr uint8_t kWildcardByte = 0xAA;
// Offsets inside a frame counted from its first 68.
constexpr size_t kSecondStartOffset = 7;
constexpr size_t kControlOffset = 8;
constexpr size_t kLengthOffset = 9;
constexpr size_t kDataOffsetInFrame = 10;
static_assert(kFrameOverheadBytes == kDataOffsetInFrame + 2);
static_assert(kDataBytesMax <= 255, "L is one byte");

bool IsBcdByte(uint8_t byte) { return (byte & 0x0F) <= 9 && (byte >> 4) <= 9; }

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Wire bytes are BCD, with wildcard AA allowed only as a run from A5 down.
absl::Status CheckAddressBytes(const std::array<uint8_t, 6>& bytes) {
  bool wildcard_run = true;
  for (size_t i = bytes.size(); i-- > 0;) {
    if (bytes[i] == kWildcardByte && wildcard_run) continue;
    wildcard_run = false;
    if (!IsBcdByte(bytes[i])) {
      return MakeError(Error::kBadBcd, absl::StrCat("address byte A", i, " is not BCD"));
    }
  }
  return absl::OkStatus();
}

enum class Scan { kFrame, kNeedMore, kNotAFrame, kBad };

struct Candidate {
  Scan scan = Scan::kNeedMore;
  size_t frame_bytes = 0;  // with kFrame: 12 + L
  absl::Status error;      // with kBad
  Frame frame;             // with kFrame
};

// Examines the bytes starting at a 68.
Candidate ParseCandidate(absl::Span<const uint8_t> rest) {
  Candidate out;
  if (rest.size() <= kSecondStartOffset) return out;
  if (rest[kSecondStartOffset] != kStartByte) {
    out.scan = Scan::kNotAFrame;
    return out;
  }
  if (rest.size() <= kLengthOffset) return out;
  size_t length = rest[kLengthOffset];
  if (length > kDataBytesMax) {
    out.scan = Scan::kBad;
    out.error =
        MakeError(Error::kBadLength, absl::StrCat("L = ", length, " exceeds ", kDataBytesMax));
    return out;
  }
  size_t total = kFrameOverheadBytes + length;
  if (rest.size() < total) return out;
  if (rest[total - 1] != kEndByte) {
    out.scan = Scan::kBad;
    out.error =
        MakeError(Error::kBadEnd,
                  absl::StrCat("end byte is ", ToHex(rest.subspan(total - 1, 1)), ", not 16"));
    return out;
  }
  uint8_t sum = Checksum(rest.subspan(0, kDataOffsetInFrame + length));
  uint8_t sent = rest[kDataOffsetInFrame + length];
  if (sum != sent) {
    out.scan = Scan::kBad;
    out.error = MakeError(Error::kBadChecksum, absl::StrCat("checksum ", ToHex({&sent, 1}),
                                                            ", computed ", ToHex({&sum, 1})));
    return out;
  }
  std::copy_n(rest.begin() + 1, 6, out.frame.address.bytes.begin());
  if (absl::Status address = CheckAddressBytes(out.frame.address.bytes); !address.ok()) {
    out.scan = Scan::kBad;
    out.error = std::move(address);
    return out;
  }
  out.frame.control = Control::FromByte(rest[kControlOffset]);
  out.frame.data.resize(length);
  for (size_t i = 0; i < length; ++i) {
    out.frame.data[i] = static_cast<uint8_t>(rest[kDataOffsetInFrame + i] - kDataOffset);
  }
  out.scan = Scan::kFrame;
  out.frame_bytes = total;
  return out;
}

}  // namespace

absl::StatusOr<Address> Address::Parse(absl::string_view digits) {
  if (digits.empty() || digits.size() > 12) {
    return MakeError(Error::kBadValue,
                     absl::StrCat("address \"", digits, "\" must have 1 to 12 digits"));
  }
  std::string padded(12 - digits.size(), '0');
  padded.append(digits.data(), digits.size());
  Address address;
  for (size_t i = 0; i < 6; ++i) {
    // padded[0..1] are the two most significant digits, which sit in A5.
    char high = padded[2 * i];
    char low = padded[2 * i + 1];
    uint8_t& byte = address.bytes[5 - i];
    if ((high == 'A' || high == 'a') && (low == 'A' || low == 'a')) {
      byte = kWildcardByte;
      continue;
    }
    if (high < '0' || high > '9' || low < '0' || low > '9') {
      return MakeError(Error::kBadBcd, absl::StrCat("address \"", digits, "\" is not 12 digits"));
    }
    byte = static_cast<uint8_t>(((high - '0') << 4) | (low - '0'));
  }
  if (absl::Status checked = CheckAddressBytes(address.bytes); !checked.ok()) return checked;
  return address;
}

absl::StatusOr<Address> Address::FromWire(absl::Span<const uint8_t> wire) {
  if (wire.size() != 6) {
    return MakeError(Error::kBadLength, absl::StrCat("an address has 6 bytes, not ", wire.size()));
  }
  Address address;
  std::copy_n(wire.begin(), 6, address.bytes.begin());
  if (absl::Status checked = CheckAddressBytes(address.bytes); !checked.ok()) return checked;
  return address;
}

Address Address::Broadcast() {
  Address address;
  address.bytes.fill(0x99);
  return address;
}

Address Address::Wildcard() {
  Address address;
  address.bytes.fill(kWildcardByte);
  return address;
}

std::string Address::ToString() const {
  static constexpr char kHexDigits[] = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 6; i-- > 0;) {
    out.push_back(kHexDigits[bytes[i] >> 4]);
    out.push_back(kHexDigits[bytes[i] & 0x0F]);
  }
  return out;
}

bool Address::IsBroadcast() const { return *this == Broadcast(); }

bool Address::HasWildcard() const {
  return std::find(bytes.begin(), bytes.end(), kWildcardByte) != bytes.end();
}

bool Address::Matches(const Address& meter) const {
  if (IsBroadcast()) return false;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] != kWildcardByte && bytes[i] != meter.bytes[i]) return false;
  }
  return true;
}

Control Control::FromByte(uint8_t byte) {
  return Control{.function = static_cast<uint8_t>(byte & 0x1F),
                 .reply = (byte & 0x80) != 0,
                 .abnormal = (byte & 0x40) != 0,
                 .follow_up = (byte & 0x20) != 0};
}

uint8_t Control::ToByte() const {
  return static_cast<uint8_t>((function & 0x1F) | (reply ? 0x80 : 0) | (abnormal ? 0x40 : 0) |
                              (follow_up ? 0x20 : 0));
}

Control Control::Request(Function function) {
  return Control{.function = static_cast<uint8_t>(function),
                 .reply = false,
                 .abnormal = false,
                 .follow_up = false};
}

Control Control::NormalReply(Function function, bool follow_up) {
  return Control{.function = static_cast<uint8_t>(function),
                 .reply = true,
                 .abnormal = false,
                 .follow_up = follow_up};
}

Control Control::AbnormalReply(Function function) {
  return Control{.function = static_cast<uint8_t>(function),
                 .reply = true,
                 .abnormal = true,
                 .follow_up = false};
}

uint8_t Checksum(absl::Span<const uint8_t> bytes) {
  unsigned sum = 0;
  for (uint8_t byte : bytes) sum += byte;
  return static_cast<uint8_t>(sum & 0xFF);
}

absl::StatusOr<std::vector<uint8_t>> EncodeFrame(const Frame& frame, size_t preamble_bytes) {
  if (frame.data.size() > kDataBytesMax) {
    return MakeError(Error::kBadLength,
                     absl::StrCat("data of ", frame.data.size(), " bytes exceeds ", kDataBytesMax));
  }
  if (preamble_bytes > kPreambleBytesMax) {
    return MakeError(Error::kBadLength,
                     absl::StrCat(preamble_bytes, " wake-up bytes exceed ", kPreambleBytesMax));
  }
  std::vector<uint8_t> out;
  out.reserve(preamble_bytes + kFrameOverheadBytes + frame.data.size());
  out.insert(out.end(), preamble_bytes, kPreambleByte);
  const size_t start = out.size();
  out.push_back(kStartByte);
  out.insert(out.end(), frame.address.bytes.begin(), frame.address.bytes.end());
  out.push_back(kStartByte);
  out.push_back(frame.control.ToByte());
  out.push_back(static_cast<uint8_t>(frame.data.size()));
  for (uint8_t byte : frame.data) out.push_back(static_cast<uint8_t>(byte + kDataOffset));
  out.push_back(Checksum(absl::MakeConstSpan(out).subspan(start)));
  out.push_back(kEndByte);
  return out;
}

absl::StatusOr<Frame> DecodeFrame(absl::Span<const uint8_t> bytes) {
  size_t start = 0;
  while (start < bytes.size() && bytes[start] == kPreambleByte) ++start;
  if (start == bytes.size()) return MakeError(Error::kTruncated, "no frame after the preamble");
  if (bytes[start] != kStartByte) {
    return MakeError(Error::kBadStart, absl::StrCat("frame starts with ",
                                                    ToHex(bytes.subspan(start, 1)), ", not 68"));
  }
  Candidate candidate = ParseCandidate(bytes.subspan(start));
  switch (candidate.scan) {
    case Scan::kNeedMore:
      return MakeError(Error::kTruncated,
                       absl::StrCat("frame cut off after ", bytes.size() - start, " bytes"));
    case Scan::kNotAFrame:
      return MakeError(Error::kBadStart, "no second 68 after the address");
    case Scan::kBad:
      return candidate.error;
    case Scan::kFrame:
      break;
  }
  if (start + candidate.frame_bytes != bytes.size()) {
    return MakeError(
        Error::kTrailingBytes,
        absl::StrCat(bytes.size() - start - candidate.frame_bytes, " bytes after the end byte"));
  }
  return std::move(candidate.frame);
}

absl::StatusOr<std::vector<uint8_t>> ParseHex(absl::string_view hex) {
  std::vector<uint8_t> out;
  int high = -1;
  for (char c : hex) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ':' || c == '-') continue;
    int digit = HexDigit(c);
    if (digit < 0) {
      return MakeError(Error::kBadValue, absl::StrCat("'", std::string(1, c), "' is not hex"));
    }
    if (high < 0) {
      high = digit;
    } else {
      out.push_back(static_cast<uint8_t>((high << 4) | digit));
      high = -1;
    }
  }
  if (high >= 0) return MakeError(Error::kBadValue, "odd number of hex digits");
  return out;
}

std::string ToHex(absl::Span<const uint8_t> bytes) {
  static constexpr char kHexDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t byte : bytes) {
    out.push_back(kHexDigits[byte >> 4]);
    out.push_back(kHexDigits[byte & 0x0F]);
  }
  return out;
}

void FrameDecoder::Append(absl::Span<const uint8_t> bytes) {
  // Compact before growing so the buffer stays about one frame long.
  if (start_ > 0 && start_ >= buffer_.size() / 2) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<ptrdiff_t>(start_));
    start_ = 0;
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

void FrameDecoder::Consume(size_t bytes) {
  start_ += bytes;
  position_ += bytes;
  if (start_ == buffer_.size()) {
    buffer_.clear();
    start_ = 0;
  }
}

size_t FrameDecoder::Reset() {
  size_t dropped = buffered_bytes();
  buffer_.clear();
  start_ = 0;
  position_ += dropped;
  return dropped;
}

std::optional<absl::StatusOr<Frame>> FrameDecoder::Report(absl::Status error,
                                                          size_t claimed_bytes) {
  if (position_ < quiet_until_) return std::nullopt;
  quiet_until_ = position_ + claimed_bytes;
  return absl::StatusOr<Frame>(std::move(error));
}

std::optional<absl::StatusOr<Frame>> FrameDecoder::Next() {
  while (true) {
    absl::Span<const uint8_t> rest = absl::MakeConstSpan(buffer_).subspan(start_);
    auto begin = std::find(rest.begin(), rest.end(), kStartByte);
    size_t junk = static_cast<size_t>(begin - rest.begin());
    skipped_bytes_ += junk;
    Consume(junk);
    if (buffered_bytes() == 0) return std::nullopt;
    rest = absl::MakeConstSpan(buffer_).subspan(start_);

    Candidate candidate = ParseCandidate(rest);
    switch (candidate.scan) {
      case Scan::kFrame:
        Consume(candidate.frame_bytes);
        return absl::StatusOr<Frame>(std::move(candidate.frame));
      case Scan::kNotAFrame:
        skipped_bytes_ += 1;
        Consume(1);
        continue;
      case Scan::kBad: {
        // A bad L claims only the header; anything else the whole frame.
        size_t claimed = rest.size() > kLengthOffset && rest[kLengthOffset] <= kDataBytesMax
                             ? kFrameOverheadBytes + rest[kLengthOffset]
                             : kDataOffsetInFrame;
        auto reported = Report(std::move(candidate.error), claimed);
        Consume(1);
        if (reported.has_value()) return reported;
        skipped_bytes_ += 1;
        continue;
      }
      case Scan::kNeedMore:
        break;
    }
    // The candidate is incomplete. If a complete frame starts later, the
    // candidate was cut off: report it and resume at that frame. Bounded: an
    // incomplete candidate is shorter than kFrameBytesMax.
    for (size_t later = 1; later < rest.size(); ++later) {
      if (rest[later] != kStartByte) continue;
      if (ParseCandidate(rest.subspan(later)).scan != Scan::kFrame) continue;
      auto reported =
          Report(MakeError(Error::kTruncated,
                           absl::StrCat("frame cut off after ", later, " bytes by the next")),
                 later);
      Consume(later);
      if (reported.has_value()) return reported;
      skipped_bytes_ += later;
      break;
    }
    if (buffered_bytes() == rest.size()) return std::nullopt;
  }
}

}  // namespace wattledger::ingest::dlt645
