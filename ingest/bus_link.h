// One collector's RS485 bus, reached over a TCP connection: the transport
// under the poll scheduler. Exchange() sends one request and waits for the
// frame that answers it — one outstanding request per bus, as the bus
// allows — within a timeout. A late reply to an earlier request (another
// meter's address or DI) is skipped; a bad frame (checksum, garbled, bad
// length) or an abnormal reply ends the exchange with its typed dlt645 error
// so the caller can count it and retry. Collector packets between frames
// (heartbeats) are taken out of the stream.
//
// Runs on one executor (the gateway's coroutine); not thread-safe.
#pragma once

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
// clang-format off
#include <utility>
#include <boost/asio/awaitable.hpp>
// clang-format on

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ingest/dlt645/frame.h"

namespace wattledger::ingest {

template <typename T>
using Awaitable = boost::asio::awaitable<T>;

class BusLink {
 public:
  // `initial_bytes`: what was read past the registration packet, if anything.
  explicit BusLink(boost::asio::ip::tcp::socket socket, std::vector<uint8_t> initial_bytes = {});
  BusLink(const BusLink&) = delete;
  BusLink& operator=(const BusLink&) = delete;

  // The reply to `request`, or: kTimeout (kDeadlineExceeded) when none came
  // in time; a dlt645 error for a bad frame or an abnormal reply; kUnavailable
  // when the connection is gone (the link is then closed).
  Awaitable<absl::StatusOr<dlt645::Frame>> Exchange(const dlt645::Frame& request,
                                                    std::chrono::milliseconds timeout);
  // Sends a request that has no reply (broadcast time).
  Awaitable<absl::Status> Send(const dlt645::Frame& request);
  // Between requests: reads what the collector sends on its own (heartbeats)
  // until `deadline` or Interrupt(), so a closed connection is noticed while
  // idle. OK, or kUnavailable when the connection is gone.
  Awaitable<absl::Status> Idle(std::chrono::steady_clock::time_point deadline);
  // Ends a pending Idle() now.
  void Interrupt();

  bool is_open() const { return socket_.is_open(); }
  void Close();
  const std::string& peer() const { return peer_; }
  uint64_t heartbeats() const { return heartbeats_; }
  uint64_t stale_replies() const { return stale_replies_; }

 private:
  // Reads once (until `deadline`); false on timeout, error or close.
  Awaitable<absl::Status> ReadSome(std::chrono::steady_clock::time_point deadline);
  // Moves inbox bytes into the decoder, taking collector packets out.
  void Digest();

  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer timer_;
  uint64_t timer_generation_ = 0;
  std::string peer_;
  std::array<uint8_t, 4096> read_buffer_{};
  std::vector<uint8_t> inbox_;
  dlt645::FrameDecoder decoder_;
  uint64_t heartbeats_ = 0;
  uint64_t stale_replies_ = 0;
  bool idle_ = false;
  bool interrupted_ = false;
};

}  // namespace wattledger::ingest
