#include "ingest/bus_link.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "absl/strings/str_cat.h"
#include "ingest/collector_packets.h"
#include "ingest/dlt645/error.h"
#include "ingest/dlt645/messages.h"

namespace wattledger::ingest {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;

std::string PeerOf(const asio::ip::tcp::socket& socket) {
  error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  return absl::StrCat(endpoint.address().to_string(), ":", endpoint.port());
}

}  // namespace

BusLink::BusLink(asio::ip::tcp::socket socket, std::vector<uint8_t> initial_bytes)
    : socket_(std::move(socket)),
      timer_(socket_.get_executor()),
      peer_(PeerOf(socket_)),
      inbox_(std::move(initial_bytes)) {
  error_code ignored;
  socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
}

void BusLink::Close() {
  error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  timer_.cancel();
}

void BusLink::Digest() {
  size_t taken = 0;
  while (taken < inbox_.size()) {
    absl::Span<const uint8_t> rest(inbox_.data() + taken, inbox_.size() - taken);
    if (decoder_.buffered_bytes() == 0 && rest[0] == kCollectorPacketStart) {
      CollectorPacket packet;
      PacketScan scan = ScanCollectorPacket(rest, packet);
      if (scan == PacketScan::kPacket) {
        if (packet.kind == CollectorPacket::Kind::kHeartbeat) ++heartbeats_;
        taken += packet.bytes;
        continue;
      }
      if (scan == PacketScan::kNeedMore) break;
    }
    decoder_.Append(rest);
    taken = inbox_.size();
  }
  inbox_.erase(inbox_.begin(), inbox_.begin() + static_cast<long>(taken));
}

Awaitable<absl::Status> BusLink::ReadSome(std::chrono::steady_clock::time_point deadline) {
  if (!socket_.is_open()) co_return absl::UnavailableError("the collector connection is closed");
  // The timer cancels the read when the deadline passes; the generation makes
  // sure a timer that fired for an earlier read cannot cancel this one.
  uint64_t generation = ++timer_generation_;
  bool timed_out = false;
  timer_.expires_at(deadline);
  timer_.async_wait([this, generation, &timed_out](const error_code& ec) {
    if (ec || generation != timer_generation_) return;
    timed_out = true;
    error_code ignored;
    socket_.cancel(ignored);
  });
  error_code ec;
  size_t read = co_await socket_.async_read_some(asio::buffer(read_buffer_),
                                                 asio::redirect_error(asio::use_awaitable, ec));
  ++timer_generation_;  // from here on the timer's handler does nothing
  timer_.cancel();
  if (read > 0) {
    inbox_.insert(inbox_.end(), read_buffer_.begin(),
                  read_buffer_.begin() + static_cast<long>(read));
    Digest();
    co_return absl::OkStatus();
  }
  if (timed_out || ec == asio::error::operation_aborted) {
    co_return dlt645::MakeError(dlt645::Error::kTimeout, "no reply before the timeout");
  }
  Close();
  co_return absl::UnavailableError(
      absl::StrCat("collector ", peer_, ": ", ec ? ec.message() : "connection closed"));
}

void BusLink::Interrupt() {
  interrupted_ = true;
  if (!idle_) return;
  error_code ignored;
  socket_.cancel(ignored);
}

Awaitable<absl::Status> BusLink::Idle(std::chrono::steady_clock::time_point deadline) {
  interrupted_ = false;
  idle_ = true;
  absl::Status status = absl::OkStatus();
  while (!interrupted_ && std::chrono::steady_clock::now() < deadline) {
    status = co_await ReadSome(deadline);
    if (dlt645::ErrorOf(status) == dlt645::Error::kTimeout) {
      status = absl::OkStatus();
      break;
    }
    if (!status.ok()) break;
  }
  idle_ = false;
  co_return status;
}

Awaitable<absl::Status> BusLink::Send(const dlt645::Frame& request) {
  if (!socket_.is_open()) co_return absl::UnavailableError("the collector connection is closed");
  auto bytes = dlt645::EncodeFrame(request);
  if (!bytes.ok()) co_return bytes.status();
  error_code ec;
  co_await asio::async_write(socket_, asio::buffer(*bytes),
                             asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    Close();
    co_return absl::UnavailableError(absl::StrCat("collector ", peer_, ": ", ec.message()));
  }
  co_return absl::OkStatus();
}

Awaitable<absl::StatusOr<dlt645::Frame>> BusLink::Exchange(const dlt645::Frame& request,
                                                           std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  // Whatever is buffered answers an earlier request: drop it.
  decoder_.Reset();
  absl::Status sent = co_await Send(request);
  if (!sent.ok()) co_return sent;
  while (true) {
    while (auto next = decoder_.Next()) {
      if (!next->ok()) co_return next->status();  // a bad frame: the caller counts and retries
      absl::Status answers = dlt645::CheckReply(request, **next);
      dlt645::Error error = dlt645::ErrorOf(answers);
      if (error == dlt645::Error::kWrongAddress || error == dlt645::Error::kWrongDataId ||
          (error == dlt645::Error::kWrongFunction && !(*next)->control.reply)) {
        ++stale_replies_;  // a late reply to an earlier request (or an echo): keep waiting
        continue;
      }
      if (!answers.ok()) co_return answers;
      co_return std::move(**next);
    }
    absl::Status read = co_await ReadSome(deadline);
    if (!read.ok()) co_return read;
  }
}

}  // namespace wattledger::ingest
