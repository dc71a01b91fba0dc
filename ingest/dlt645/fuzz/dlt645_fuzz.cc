// libFuzzer target for the DL/T 645 codec: arbitrary bytes through the stream
// decoder (in chunks chosen by the input), the single-frame decoder, both
// ends' request/reply parsers and the value formats. Oracles: nothing crashes
// or reads out of bounds (ASan/UBSan), every error carries an Error, and a
// decoded frame re-encodes to bytes that decode to the same frame.
// Built by tools/fuzz.sh with clang; the GCC test build links the same entry
// point into dlt645_test to replay fuzz/corpus/ (corpus_replay_test.cc).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "ingest/dlt645/describe.h"
#include "ingest/dlt645/error.h"
#include "ingest/dlt645/frame.h"
#include "ingest/dlt645/messages.h"
#include "ingest/dlt645/parameters.h"
#include "ingest/dlt645/values.h"

namespace wattledger::ingest::dlt645 {
namespace {

void Require(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stderr, "dlt645_fuzz oracle failed: %s\n", what);
  std::abort();
}

// A failure must be one of ours, typed.
void RequireTyped(const absl::Status& status) {
  if (!status.ok()) Require(ErrorOf(status) != Error::kNone, "untyped error");
}

// Every parser and check that takes a frame, from both ends of the bus.
void ExerciseFrame(const Frame& frame) {
  auto wire = EncodeFrame(frame, frame.data.size() % 5);
  Require(wire.ok(), "a decoded frame encodes");
  auto again = DecodeFrame(*wire);
  Require(again.ok() && *again == frame, "re-encoded frame decodes to itself");
  std::string json = FrameToJson(frame);
  Require(json.size() >= 2 && json.front() == '{' && json.back() == '}', "JSON object");

  RequireTyped(ParseReadRequest(frame).status());
  RequireTyped(ParseReadFollowUpRequest(frame).status());
  RequireTyped(ParseWriteRequest(frame).status());
  RequireTyped(ParseBroadcastTimeRequest(frame).status());
  RequireTyped(ParseRemoteControlRequest(frame).status());
  RequireTyped(ParseReadAddressRequest(frame));

  const Frame requests[] = {
      ReadRequest(frame.address, kForwardActiveEnergy),
      ReadRequest(Address::Wildcard(), frame.data.size() >= 4 ? *DecodeDataId(frame.data) : 0),
      ReadFollowUpRequest(frame.address, kForwardActiveEnergyBlock, 1),
      ReadAddressRequest(),
      AckReplyFrame(frame.address, Function::kWrite),  // a reply as "request": must not crash
  };
  for (const Frame& request : requests) {
    RequireTyped(CheckReply(request, frame));
    auto read = ParseReadReply(request, frame);
    RequireTyped(read.status());
    if (read.ok()) RequireTyped(ValueToJson(read->id, read->value).status());
    RequireTyped(ParseReadAddressReply(request, frame).status());
  }
  if (frame.data.size() >= 4) {
    DataId id = *DecodeDataId(frame.data);
    absl::Span<const uint8_t> value = absl::MakeConstSpan(frame.data).subspan(4);
    RequireTyped(ValueToJson(id, value).status());
    RequireTyped(CheckValueSize(id, value.size()));
    RequireTyped(ResolveParameter(id).status());
  }
}

// Value decoders over raw bytes of every size.
void ExerciseValues(absl::Span<const uint8_t> bytes) {
  for (size_t size = 0; size <= bytes.size() && size <= 8; ++size) {
    absl::Span<const uint8_t> head = bytes.subspan(0, size);
    RequireTyped(DecodeBcd(head, size % 2 == 0).status());
    RequireTyped(DecodeEnergyWh(head, true).status());
    RequireTyped(DecodeVoltageDv(head).status());
    RequireTyped(DecodeCurrentMa(head).status());
    RequireTyped(DecodePowerW(head).status());
    RequireTyped(DecodePowerFactorMilli(head).status());
    RequireTyped(DecodeFrequencyCentiHz(head).status());
    RequireTyped(DecodeDateTime6(head).status());
    RequireTyped(DecodeDate(head).status());
    RequireTyped(DecodeTime(head).status());
    RequireTyped(DecodeRunStatus3(head).status());
    RequireTyped(DecodeSchedulePeriod(head).status());
    RequireTyped(Address::FromWire(head).status());
    for (Parameter parameter : {Parameter::kLoadLimit, Parameter::kMaliciousLoadPowerFactor,
                                Parameter::kRecoveryDelay, Parameter::kOverdraftLimit}) {
      auto value = DecodeScalarParameter(parameter, head);
      RequireTyped(value.status());
      // Rounding to whole watts can take the top 0.5 W of a power limit to
      // one above the encodable maximum; every other value re-encodes.
      if (value.ok() && parameter != Parameter::kLoadLimit) {
        auto wire = EncodeScalarParameter(parameter, *value);
        Require(wire.ok() && *DecodeScalarParameter(parameter, *wire) == *value,
                "a decoded parameter re-encodes to itself");
      }
    }
  }
}

}  // namespace
}  // namespace wattledger::ingest::dlt645

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace d = wattledger::ingest::dlt645;
  absl::Span<const uint8_t> input(data, size);

  auto whole = d::DecodeFrame(input);
  d::RequireTyped(whole.status());
  if (whole.ok()) d::ExerciseFrame(*whole);

  // The first byte chooses the chunk size (1..16) the stream arrives in.
  size_t chunk = size == 0 ? 1 : (data[0] & 0x0F) + 1;
  d::FrameDecoder decoder;
  size_t frames = 0;
  for (size_t at = 0; at < size; at += chunk) {
    decoder.Append(input.subspan(at, chunk));
    while (auto next = decoder.Next()) {
      d::RequireTyped(next->status());
      if (next->ok()) {
        d::ExerciseFrame(**next);
        ++frames;
      }
    }
    d::Require(decoder.buffered_bytes() < d::kFrameBytesMax, "holds at most one partial frame");
  }
  d::Require(frames <= size / d::kFrameOverheadBytes, "no more frames than bytes allow");
  decoder.Reset();
  d::Require(decoder.buffered_bytes() == 0, "reset empties");

  d::ExerciseValues(input);
  return 0;
}
