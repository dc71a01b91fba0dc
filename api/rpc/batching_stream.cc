#include "api/rpc/batching_stream.h"

#include <cstring>

namespace wattledger::rpc {
namespace {

constexpr size_t kReadBufferBytes = 64 * 1024;
constexpr size_t kUnflushedBytesMax = 1024 * 1024;

}  // namespace

BatchingStream::BatchingStream(kj::Own<kj::AsyncIoStream> inner)
    : inner_(kj::mv(inner)), read_buffer_(kj::heapArray<kj::byte>(kReadBufferBytes)) {}

kj::Promise<size_t> BatchingStream::tryRead(void* buffer, size_t min_bytes, size_t max_bytes) {
  return ReadMore(static_cast<kj::byte*>(buffer), min_bytes, max_bytes, 0);
}

kj::Promise<size_t> BatchingStream::ReadMore(kj::byte* out, size_t min_bytes, size_t max_bytes,
                                             size_t done) {
  size_t buffered = read_end_ - read_begin_;
  if (buffered > 0) {
    size_t n = std::min(buffered, max_bytes - done);
    std::memcpy(out + done, read_buffer_.begin() + read_begin_, n);
    read_begin_ += n;
    done += n;
  }
  if (done >= min_bytes || done == max_bytes) return done;
  // The buffer is empty: a large read goes straight to the caller.
  if (max_bytes - done >= read_buffer_.size()) {
    return inner_->tryRead(out + done, min_bytes - done, max_bytes - done).then([done](size_t n) {
      return done + n;
    });
  }
  read_begin_ = read_end_ = 0;
  return inner_->tryRead(read_buffer_.begin(), 1, read_buffer_.size())
      .then([this, out, min_bytes, max_bytes, done](size_t n) -> kj::Promise<size_t> {
        if (n == 0) return done;  // end of stream
        read_end_ = n;
        return ReadMore(out, min_bytes, max_bytes, done);
      });
}

kj::Promise<void> BatchingStream::write(const void* buffer, size_t size) {
  kj::ArrayPtr<const kj::byte> piece(static_cast<const kj::byte*>(buffer), size);
  return Append(kj::arrayPtr(&piece, 1));
}

kj::Promise<void> BatchingStream::write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) {
  return Append(pieces);
}

kj::Promise<void> BatchingStream::Append(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) {
  KJ_IF_MAYBE (failure, write_failure_) {
    return kj::cp(*failure);
  }
  for (auto piece : pieces) {
    pending_.append(reinterpret_cast<const char*>(piece.begin()), piece.size());
  }
  if (!flushing_) {
    flushing_ = true;
    // After everything already runnable: the rest of the burst joins this flush.
    flush_ = kj::evalLast([this] { return Flush(); }).eagerlyEvaluate([this](kj::Exception&& e) {
      KJ_IF_MAYBE (waiting, drained_) {
        (*waiting)->reject(kj::cp(e));
      }
      drained_ = nullptr;
      write_failure_ = kj::mv(e);
      flushing_ = false;
    });
  }
  if (pending_.size() < kUnflushedBytesMax) return kj::READY_NOW;
  auto paf = kj::newPromiseAndFulfiller<void>();
  drained_ = kj::mv(paf.fulfiller);
  return kj::mv(paf.promise);
}

kj::Promise<void> BatchingStream::Flush() {
  sending_.clear();
  sending_.swap(pending_);
  KJ_IF_MAYBE (waiting, drained_) {
    (*waiting)->fulfill();
  }
  drained_ = nullptr;
  return inner_->write(sending_.data(), sending_.size()).then([this]() -> kj::Promise<void> {
    if (!pending_.empty()) return Flush();
    flushing_ = false;
    if (shutdown_requested_) inner_->shutdownWrite();
    return kj::READY_NOW;
  });
}

kj::Promise<void> BatchingStream::whenWriteDisconnected() {
  return inner_->whenWriteDisconnected();
}

void BatchingStream::shutdownWrite() {
  if (flushing_) {
    shutdown_requested_ = true;  // after the last flush
  } else {
    inner_->shutdownWrite();
  }
}

void BatchingStream::abortRead() { inner_->abortRead(); }

void BatchingStream::getsockopt(int level, int option, void* value, kj::uint* length) {
  inner_->getsockopt(level, option, value, length);
}
void BatchingStream::setsockopt(int level, int option, const void* value, kj::uint length) {
  inner_->setsockopt(level, option, value, length);
}
void BatchingStream::getsockname(struct sockaddr* addr, kj::uint* length) {
  inner_->getsockname(addr, length);
}
void BatchingStream::getpeername(struct sockaddr* addr, kj::uint* length) {
  inner_->getpeername(addr, length);
}

}  // namespace wattledger::rpc
